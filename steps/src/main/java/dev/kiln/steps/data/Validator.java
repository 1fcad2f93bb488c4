package dev.kiln.steps.data;

import dev.kiln.steps.table.ColumnKind;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Checks a data set against a schema. Each check is one DuckDB query over the loaded table; column
 * names are quoted identifiers taken from the file, values from the schema are bound.
 */
final class Validator {
  private final Table data;
  private final Schema schema;
  private final List<ValidationReport.Check> checks = new ArrayList<>();

  private Validator(Table data, Schema schema) {
    this.data = data;
    this.schema = schema;
  }

  public static ValidationReport validate(Table data, Schema schema) throws DataException {
    Validator v = new Validator(data, schema);
    try {
      v.run();
    } catch (SQLException e) {
      throw new DataException(
          data.file() + ": a check could not run: " + e.getMessage().lines().findFirst().orElse(""),
          e);
    }
    return new ValidationReport(data.file().toString(), schema.file(), data.rows(), v.checks);
  }

  private void run() throws SQLException, DataException {
    if (schema.rows() != null) {
      boolean ok = schema.rows().contains(data.rows());
      checks.add(
          new ValidationReport.Check(
              null, "rows", ok, 0, data.rows() + " rows, expected " + schema.rows(), List.of()));
    }
    for (Schema.ColumnRule rule : schema.columns()) {
      var col = data.column(rule.name());
      if (col.isEmpty()) {
        checks.add(
            new ValidationReport.Check(
                rule.name(),
                "present",
                false,
                0,
                "column '"
                    + rule.name()
                    + "' ("
                    + schema.file()
                    + ":"
                    + rule.line()
                    + ") is missing from the data; it has "
                    + String.join(", ", data.columns().stream().map(Table.Column::name).toList()),
                List.of()));
        continue;
      }
      column(rule, col.get());
    }
  }

  private void column(Schema.ColumnRule r, Table.Column col) throws SQLException {
    String raw = Table.quote(col.name());
    ColumnKind have = col.kind();
    String num = have.numeric() ? "cast(" + raw + " as double)" : "try_cast(" + raw + " as double)";
    if (r.type() != null) {
      String bad = typePredicate(r.type(), have, raw);
      rows(
          r.name(),
          "type " + r.type().schemaName(),
          bad,
          "values are not " + article(r.type().schemaName()));
    }
    if (!r.nullable()) {
      rows(r.name(), "not null", raw + " is null", "values are null");
    }
    if (r.min() != null) {
      rows(
          r.name(),
          "min " + Schema.Bounds.fmt(r.min()),
          num + " < ?",
          "values are below " + Schema.Bounds.fmt(r.min()),
          r.min());
    }
    if (r.max() != null) {
      rows(
          r.name(),
          "max " + Schema.Bounds.fmt(r.max()),
          num + " > ?",
          "values are above " + Schema.Bounds.fmt(r.max()),
          r.max());
    }
    if (r.allowed() != null) {
      String marks = String.join(", ", Collections.nCopies(Math.max(1, r.allowed().size()), "?"));
      Object[] params = r.allowed().isEmpty() ? new Object[] {"\u0000"} : r.allowed().toArray();
      rows(
          r.name(),
          "allowed",
          raw + " is not null and cast(" + raw + " as varchar) not in (" + marks + ")",
          "values are not one of " + r.allowed(),
          params);
    }
    if (r.unique()) {
      rows(
          r.name(),
          "unique",
          raw
              + " in (select "
              + raw
              + " from data where "
              + raw
              + " is not null group by "
              + raw
              + " having count(*) > 1)",
          "rows share a value with" + " another row");
    }
    if (r.pattern() != null) {
      rows(
          r.name(),
          "pattern",
          raw + " is not null and not regexp_full_match(cast(" + raw + " as varchar), ?)",
          "values do not match " + r.pattern(),
          r.pattern());
    }
    if (r.mean() != null) {
      statistic(r.name(), "mean", "avg(" + num + ")", r.mean());
    }
    if (r.stddev() != null) {
      statistic(r.name(), "stddev", "stddev_samp(" + num + ")", r.stddev());
    }
    if (r.nullFraction() != null) {
      statistic(
          r.name(),
          "null_fraction",
          "count(*) filter (where " + raw + " is null) / greatest(count(*), 1)",
          r.nullFraction());
    }
  }

  /** Rows whose value is not of the type; null when the column's own type already is. */
  private static String typePredicate(ColumnKind want, ColumnKind have, String raw) {
    return switch (want) {
      case STRING -> null;
      case INTEGER ->
          have == ColumnKind.INTEGER
              ? null
              : have == ColumnKind.NUMBER
                  ? raw + " <> round(" + raw + ")"
                  : raw + " is not null and try_cast(" + raw + " as bigint) is null";
      case NUMBER ->
          have.numeric() ? null : raw + " is not null and try_cast(" + raw + " as double) is null";
      case BOOLEAN ->
          have == ColumnKind.BOOLEAN
              ? null
              : raw + " is not null and try_cast(" + raw + " as boolean) is null";
      case TIMESTAMP ->
          have == ColumnKind.TIMESTAMP
              ? null
              : raw + " is not null and try_cast(" + raw + " as timestamp) is null";
    };
  }

  private void rows(String column, String check, String predicate, String what, Object... params)
      throws SQLException {
    if (predicate == null) {
      checks.add(new ValidationReport.Check(column, check, true, 0, "", List.of()));
      return;
    }
    long count;
    try (PreparedStatement ps =
        data.connection().prepareStatement("select count(*) from data where " + predicate)) {
      bind(ps, params);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        count = rs.getLong(1);
      }
    }
    List<ValidationReport.Offender> examples = new ArrayList<>();
    if (count > 0) {
      try (PreparedStatement ps =
          data.connection()
              .prepareStatement(
                  "select __row, cast("
                      + Table.quote(column)
                      + " as varchar) from data where "
                      + predicate
                      + " order by __row limit "
                      + ValidationReport.MAX_EXAMPLES)) {
        bind(ps, params);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            examples.add(new ValidationReport.Offender(rs.getLong(1), rs.getString(2)));
          }
        }
      }
    }
    checks.add(
        new ValidationReport.Check(column, check, count == 0, count, count + " " + what, examples));
  }

  private void statistic(String column, String check, String expr, Schema.Bounds want)
      throws SQLException {
    Double value;
    try (PreparedStatement ps =
            data.connection().prepareStatement("select " + expr + " from data");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      double v = rs.getDouble(1);
      value = rs.wasNull() ? null : v;
    }
    boolean ok = value != null && want.contains(value);
    String msg =
        value == null
            ? "no values to compute it from, expected " + want
            : String.format(Locale.ROOT, "%s is %.6g, expected %s", check, value, want);
    checks.add(new ValidationReport.Check(column, check, ok, 0, msg, List.of()));
  }

  private static void bind(PreparedStatement ps, Object... params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      ps.setObject(i + 1, params[i]);
    }
  }

  private static String article(String type) {
    return (type.startsWith("i") ? "an " : "a ") + type;
  }
}
