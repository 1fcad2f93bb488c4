package dev.kiln.steps.data;

import dev.kiln.steps.table.ColumnKind;
import dev.kiln.steps.table.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads a schema YAML into a {@link Schema}. Every problem is collected and reported at once as
 * {@code FILE:LINE:COL: field: message}, one per line.
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
  private final List<String> problems = new ArrayList<>();

  private SchemaParser(String file) {
    this.file = file;
  }

  public static Schema parse(Path path) throws DataException {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new DataException(path + ": cannot read the schema: " + e.getMessage(), e);
    }
    return parse(path.toString(), text);
  }

  public static Schema parse(String file, String text) throws DataException {
    SchemaParser p = new SchemaParser(file);
    Node root;
    try {
      LoaderOptions opts = new LoaderOptions();
      opts.setAllowDuplicateKeys(false);
      root = new Yaml(opts).compose(new java.io.StringReader(text));
    } catch (MarkedYAMLException e) {
      var m = e.getProblemMark();
      throw new DataException(
          file + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1) + ": " + e.getProblem());
    } catch (RuntimeException e) {
      throw new DataException(file + ": not YAML: " + e.getMessage());
    }
    Schema s = p.schema(root);
    if (!p.problems.isEmpty()) {
      throw new DataException(String.join("\n", p.problems));
    }
    return s;
  }

  private Schema schema(Node root) {
    if (!(root instanceof MappingNode m)) {
      problem(root, "", "a schema is a map with 'columns' (and optionally 'rows')");
      return null;
    }
    List<Schema.ColumnRule> cols = new ArrayList<>();
    Schema.Bounds rows = null;
    boolean sawColumns = false;
    for (NodeTuple t : m.getValue()) {
      String key = key(t);
      switch (key) {
        case "columns" -> {
          sawColumns = true;
          if (t.getValueNode() instanceof MappingNode cm) {
            for (NodeTuple c : cm.getValue()) {
              cols.add(column(key(c), c));
            }
          } else {
            problem(t.getValueNode(), "columns", "expected a map of column name to rules");
          }
        }
        case "rows" -> rows = bounds(t.getValueNode(), "rows");
        case "description" -> {}
        default ->
            problem(
                t.getKeyNode(),
                key,
                "unknown key; use " + String.join(", ", new java.util.TreeSet<>(TOP_KEYS)));
      }
    }
    if (!sawColumns) {
      problem(root, "columns", "required");
    }
    return new Schema(file, cols, rows);
  }

  private Schema.ColumnRule column(String name, NodeTuple t) {
    String at = "columns." + name;
    int line = t.getKeyNode().getStartMark().getLine() + 1;
    if (!(t.getValueNode() instanceof MappingNode m)) {
      problem(t.getValueNode(), at, "expected a map of rules, e.g. { type: number, min: 0 }");
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
    for (NodeTuple r : m.getValue()) {
      String k = key(r);
      Node v = r.getValueNode();
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
          if (v instanceof SequenceNode seq) {
            allowed = new ArrayList<>();
            for (Node item : seq.getValue()) {
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
                r.getKeyNode(),
                field,
                "unknown rule; use " + String.join(", ", new java.util.TreeSet<>(COLUMN_KEYS)));
      }
    }
    if (min != null && max != null && min > max) {
      problem(m, at, "min " + min + " is greater than max " + max);
    }
    return new Schema.ColumnRule(
        name, line, type, nullable, min, max, allowed, unique, pattern, mean, std, nulls);
  }

  private Schema.Bounds bounds(Node v, String field) {
    if (!(v instanceof MappingNode m)) {
      problem(v, field, "expected { min: X, max: Y } (either may be left out)");
      return null;
    }
    Double min = null;
    Double max = null;
    Set<String> seen = new HashSet<>();
    for (NodeTuple t : m.getValue()) {
      String k = key(t);
      seen.add(k);
      switch (k) {
        case "min" -> min = number(t.getValueNode(), field + ".min");
        case "max" -> max = number(t.getValueNode(), field + ".max");
        default -> problem(t.getKeyNode(), field + "." + k, "unknown key; use min and max");
      }
    }
    if (seen.isEmpty()) {
      problem(v, field, "give min, max or both");
    }
    if (min != null && max != null && min > max) {
      problem(v, field, "min " + min + " is greater than max " + max);
    }
    return new Schema.Bounds(min, max);
  }

  private String key(NodeTuple t) {
    return t.getKeyNode() instanceof ScalarNode s ? s.getValue() : "?";
  }

  private String scalar(Node v, String field) {
    if (v instanceof ScalarNode s) {
      return s.getValue();
    }
    problem(v, field, "expected a single value");
    return null;
  }

  private Double number(Node v, String field) {
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

  private boolean bool(Node v, String field, boolean fallback) {
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

  private void problem(Node at, String field, String message) {
    var m = at.getStartMark();
    problems.add(
        file
            + ":"
            + (m.getLine() + 1)
            + ":"
            + (m.getColumn() + 1)
            + ": "
            + (field.isEmpty() ? "" : field + ": ")
            + message);
  }
}
