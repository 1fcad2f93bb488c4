package dev.kiln.steps.data;

import dev.kiln.dsl.parse.Problem;
import dev.kiln.dsl.parse.Problems;
import dev.kiln.dsl.parse.YNode;
import dev.kiln.dsl.parse.YamlLoader;
import dev.kiln.steps.table.ColumnKind;
import dev.kiln.steps.table.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Binds a schema YAML, read by the DSL's located loader, to a {@link Schema}. Every problem is
 * collected and reported at once as {@code FILE:LINE:COL: field: message}, one per line, sorted by
 * line.
 */
final class SchemaParser {
  private static final Set<String> COLUMN_KEYS =
      Set.of(
          "type",
          "nullable",
          "min",
          "max",
          "allowed",
          "unique",
          "pattern",
          "mean",
          "stddev",
          "null_fraction",
          "description");
  private static final Set<String> TOP_KEYS = Set.of("columns", "rows", "description");

  private final String file;
  private final Problems problems;

  private SchemaParser(String file) {
    this.file = file;
    this.problems = new Problems(file);
  }

  static Schema parse(Path path) throws DataException {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new DataException(path + ": cannot read the schema: " + e.getMessage(), e);
    }
    return parse(path.toString(), text);
  }

  static Schema parse(String file, String text) throws DataException {
    SchemaParser p = new SchemaParser(file);
    String body = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? text.substring(1) : text;
    YNode root = YamlLoader.load(body, p.problems, "a data schema", "'columns'");
    Schema s = root == null ? null : p.schema(root);
    if (!p.problems.isEmpty()) {
      throw new DataException(
          String.join("\n", p.problems.sorted().stream().map(Problem::toString).toList()));
    }
    return s;
  }

  private Schema schema(YNode root) {
    if (!(root instanceof YNode.Mapping m)) {
      problem(root, "", "a schema is a map with 'columns' (and optionally 'rows')");
      return null;
    }
    List<Schema.ColumnRule> cols = new ArrayList<>();
    Schema.Bounds rows = null;
    for (YNode.Entry t : m.entries().values()) {
      String key = t.key().text();
      switch (key) {
        case "columns" -> {
          if (t.value() instanceof YNode.Mapping cm) {
            for (YNode.Entry c : cm.entries().values()) {
              cols.add(column(c.key().text(), c));
            }
          } else {
            problem(t.value(), "columns", "expected a map of column name to rules");
          }
        }
        case "rows" -> rows = bounds(t.value(), "rows");
        case "description" -> {}
        default ->
            problem(t.key(), key, "unknown key; use " + String.join(", ", new TreeSet<>(TOP_KEYS)));
      }
    }
    if (!m.has("columns")) {
      problem(root, "columns", "required");
    }
    return new Schema(file, cols, rows);
  }

  private Schema.ColumnRule column(String name, YNode.Entry t) {
    String at = "columns." + name;
    int line = t.key().location().line();
    if (!(t.value() instanceof YNode.Mapping m)) {
      problem(t.value(), at, "expected a map of rules, e.g. { type: number, min: 0 }");
      return new Schema.ColumnRule(
          name, line, null, true, null, null, null, false, null, null, null, null);
    }
    ColumnKind type = null;
    boolean nullable = true;
    boolean unique = false;
    Double min = null;
    Double max = null;
    List<String> allowed = null;
    String pattern = null;
    Schema.Bounds mean = null;
    Schema.Bounds std = null;
    Schema.Bounds nulls = null;
    for (YNode.Entry r : m.entries().values()) {
      String k = r.key().text();
      YNode v = r.value();
      String field = at + "." + k;
      switch (k) {
        case "type" -> {
          String s = scalar(v, field);
          if (s != null) {
            try {
              type = ColumnKind.valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
              problem(
                  v,
                  field,
                  "'"
                      + s
                      + "' is not a type; use integer, number, string, boolean"
                      + " or timestamp");
            }
          }
        }
        case "nullable" -> nullable = bool(v, field, true);
        case "unique" -> unique = bool(v, field, false);
        case "min" -> min = number(v, field);
        case "max" -> max = number(v, field);
        case "allowed" -> {
          if (v instanceof YNode.Seq seq) {
            allowed = new ArrayList<>();
            for (YNode item : seq.items()) {
              String s = scalar(item, field);
              if (s != null) {
                allowed.add(s);
              }
            }
          } else {
            problem(v, field, "expected a list of values");
          }
        }
        case "pattern" -> {
          pattern = scalar(v, field);
          if (pattern != null) {
            try {
              Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
              problem(v, field, "not a regular expression: " + e.getDescription());
            }
          }
        }
        case "mean" -> mean = bounds(v, field);
        case "stddev" -> std = bounds(v, field);
        case "null_fraction" -> nulls = bounds(v, field);
        case "description" -> {}
        default ->
            problem(
                r.key(),
                field,
                "unknown rule; use " + String.join(", ", new TreeSet<>(COLUMN_KEYS)));
      }
    }
    if (min != null && max != null && min > max) {
      problem(m, at, "min " + min + " is greater than max " + max);
    }
    return new Schema.ColumnRule(
        name, line, type, nullable, min, max, allowed, unique, pattern, mean, std, nulls);
  }

  private Schema.Bounds bounds(YNode v, String field) {
    if (!(v instanceof YNode.Mapping m)) {
      problem(v, field, "expected { min: X, max: Y } (either may be left out)");
      return null;
    }
    Double min = null;
    Double max = null;
    for (YNode.Entry t : m.entries().values()) {
      String k = t.key().text();
      switch (k) {
        case "min" -> min = number(t.value(), field + ".min");
        case "max" -> max = number(t.value(), field + ".max");
        default -> problem(t.key(), field + "." + k, "unknown key; use min and max");
      }
    }
    if (m.entries().isEmpty()) {
      problem(v, field, "give min, max or both");
    }
    if (min != null && max != null && min > max) {
      problem(v, field, "min " + min + " is greater than max " + max);
    }
    return new Schema.Bounds(min, max);
  }

  /** The scalar as written: schemas compare text, as the YAML 1.1 reader before them did. */
  private String scalar(YNode v, String field) {
    if (v instanceof YNode.Scalar s) {
      return s.text();
    }
    problem(v, field, "expected a single value");
    return null;
  }

  private Double number(YNode v, String field) {
    String s = scalar(v, field);
    if (s == null) {
      return null;
    }
    try {
      return Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      problem(v, field, "'" + s + "' is not a number");
      return null;
    }
  }

  private boolean bool(YNode v, String field, boolean fallback) {
    String s = scalar(v, field);
    if ("true".equalsIgnoreCase(s)) {
      return true;
    }
    if ("false".equalsIgnoreCase(s)) {
      return false;
    }
    if (s != null) {
      problem(v, field, "'" + s + "' is not true or false");
    }
    return fallback;
  }

  private void problem(YNode at, String field, String message) {
    problems.add(at, (field.isEmpty() ? "" : field + ": ") + message);
  }
}
