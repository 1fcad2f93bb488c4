package dev.kiln.steps.data;

import dev.kiln.steps.table.ColumnKind;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * A starting schema from a data set: each column's type, whether it has nulls, its range, its
 * values when there are few, and uniqueness. Meant to be edited, not trusted blindly.
 */
final class SchemaInference {
  /** A string column with at most this many distinct values gets an {@code allowed} list. */
  static final int MAX_ALLOWED = 20;

  private SchemaInference() {}

  public static String infer(Table data) throws SQLException, DataException {
    Map<String, Object> columns = new LinkedHashMap<>();
    for (Table.Column c : data.columns()) {
      String q = Table.quote(c.name());
      Map<String, Object> rule = new LinkedHashMap<>();
      rule.put("type", c.kind().schemaName());
      try (Statement st = data.connection().createStatement();
          ResultSet rs =
              st.executeQuery(
                  "select count(*) filter (where "
                      + q
                      + " is null), "
                      + "count(distinct "
                      + q
                      + ")"
                      + (c.kind().numeric()
                          ? ", min(" + q + ")::double, max(" + q + ")::double"
                          : "")
                      + " from data")) {
        rs.next();
        long nulls = rs.getLong(1);
        long distinct = rs.getLong(2);
        rule.put("nullable", nulls > 0);
        if (c.kind().numeric() && distinct > 0) {
          rule.put("min", number(rs.getDouble(3), c.kind()));
          rule.put("max", number(rs.getDouble(4), c.kind()));
        }
        if (c.kind() == ColumnKind.STRING
            && distinct > 0
            && distinct <= MAX_ALLOWED
            && distinct < data.rows()) {
          List<String> values = new ArrayList<>();
          try (Statement s2 = data.connection().createStatement();
              ResultSet vs =
                  s2.executeQuery(
                      "select distinct "
                          + q
                          + " from data where "
                          + q
                          + " is not null order by 1")) {
            while (vs.next()) {
              values.add(vs.getString(1));
            }
          }
          rule.put("allowed", values);
        }
        if (distinct == data.rows() && data.rows() > 1 && c.kind() != ColumnKind.NUMBER) {
          rule.put("unique", true);
        }
      }
      columns.put(c.name(), rule);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("columns", columns);
    root.put("rows", Map.of("min", 1));
    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    o.setIndent(2);
    o.setWidth(100);
    return "# Inferred by 'kiln schema infer "
        + data.file()
        + "'; edit before relying on it.\n"
        + new Yaml(o).dump(root);
  }

  private static Object number(double v, ColumnKind kind) {
    return kind == ColumnKind.INTEGER ? (Object) (long) v : (Object) v;
  }
}
