package dev.kiln.steps.serve;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The columns a model takes, with their types: what {@code POST /predict} rows are checked against
 * before the model sees them. Recorded with the model version in the registry; {@code train/tribuo}
 * also writes it into the model file ({@link TribuoModel#recording}).
 */
public record Signature(List<Column> columns) {
  /** A column's JSON type: number, integer, string or boolean. */
  public record Column(String name, String type) {
    public Column {
      if (!Set.of("number", "integer", "string", "boolean").contains(type)) {
        throw new IllegalArgumentException("column " + name + ": unknown type '" + type + "'");
      }
    }
  }

  public Signature {
    columns = List.copyOf(columns);
  }

  /** A row that does not fit; the message names the row (from 0) and the column. */
  static final class BadRow extends Exception {
    BadRow(String message) {
      super(message);
    }
  }

  public List<String> names() {
    return columns.stream().map(Column::name).toList();
  }

  /** Checks every row, reporting the first problem; the rows' values as numbers, strings, ... */
  void check(List<?> rows) throws BadRow {
    Set<String> known = new LinkedHashSet<>(names());
    for (int i = 0; i < rows.size(); i++) {
      if (!(rows.get(i) instanceof Map<?, ?> row)) {
        throw new BadRow("rows[" + i + "] is not an object of column: value");
      }
      List<String> missing = new ArrayList<>();
      for (Column c : columns) {
        if (!row.containsKey(c.name())) {
          missing.add(c.name());
          continue;
        }
        Object v = row.get(c.name());
        if (!fits(c.type(), v)) {
          throw new BadRow(
              "rows["
                  + i
                  + "]."
                  + c.name()
                  + (c.type().equals("integer") ? ": expected an " : ": expected a ")
                  + c.type()
                  + ", got "
                  + (v == null ? "null" : jsonType(v) + " " + brief(v)));
        }
      }
      if (!missing.isEmpty()) {
        throw new BadRow("rows[" + i + "]: missing column(s) " + String.join(", ", missing));
      }
      List<String> extra = new ArrayList<>();
      for (Object k : row.keySet()) {
        if (!known.contains(String.valueOf(k))) {
          extra.add(String.valueOf(k));
        }
      }
      if (!extra.isEmpty()) {
        throw new BadRow(
            "rows["
                + i
                + "]: unknown column(s) "
                + String.join(", ", extra)
                + " (the model takes: "
                + String.join(", ", names())
                + ")");
      }
    }
  }

  private static boolean fits(String type, Object v) {
    return switch (type) {
      case "number" -> v instanceof Number;
      case "integer" ->
          v instanceof Integer
              || v instanceof Long
              || v instanceof BigInteger
              || (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()));
      case "string" -> v instanceof String;
      case "boolean" -> v instanceof Boolean;
      default -> false;
    };
  }

  private static String jsonType(Object v) {
    if (v instanceof Number) {
      return "number";
    }
    if (v instanceof String) {
      return "string";
    }
    if (v instanceof Boolean) {
      return "boolean";
    }
    if (v instanceof List) {
      return "array";
    }
    return "object";
  }

  private static String brief(Object v) {
    String s = v instanceof String str ? "'" + str + "'" : String.valueOf(v);
    return s.length() > 40 ? s.substring(0, 37) + "..." : s;
  }

  /** As recorded: {@code [{"name": ..., "type": ...}, ...]}. */
  public List<Map<String, String>> toJson() {
    List<Map<String, String>> out = new ArrayList<>();
    for (Column c : columns) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("name", c.name());
      m.put("type", c.type());
      out.add(m);
    }
    return out;
  }

  static Signature fromJson(List<?> json) {
    List<Column> cols = new ArrayList<>();
    for (Object o : json) {
      Map<?, ?> m = (Map<?, ?>) o;
      cols.add(new Column(String.valueOf(m.get("name")), String.valueOf(m.get("type"))));
    }
    return new Signature(cols);
  }
}
