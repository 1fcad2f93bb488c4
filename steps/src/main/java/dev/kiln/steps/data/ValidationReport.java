package dev.kiln.steps.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every check that ran on a data set and what failed, with up to five offending rows. */
record ValidationReport(String data, String schema, long rows, List<Check> checks) {
  public static final int MAX_EXAMPLES = 5;

  public ValidationReport {
    checks = List.copyOf(checks);
  }

  /** A row that broke a check: its 1-based number among the data rows, and its value. */
  public record Offender(long row, String value) {}

  /**
   * One check; {@code count} is how many rows broke it (0 for table and statistics checks that
   * failed, which have no rows to blame).
   */
  public record Check(
      String column,
      String check,
      boolean passed,
      long count,
      String message,
      List<Offender> examples) {}

  public List<Check> failures() {
    return checks.stream().filter(c -> !c.passed()).toList();
  }

  public boolean passed() {
    return failures().isEmpty();
  }

  /** Human-readable: one line per failed check, then a summary line. */
  public String text() {
    StringBuilder b = new StringBuilder();
    for (Check c : failures()) {
      b.append("FAIL ")
          .append(c.column() == null ? "table" : c.column())
          .append(": ")
          .append(c.check())
          .append(": ")
          .append(c.message());
      if (!c.examples().isEmpty()) {
        b.append(" (e.g. ");
        for (int i = 0; i < c.examples().size(); i++) {
          Offender o = c.examples().get(i);
          b.append(i == 0 ? "" : ", ")
              .append("row ")
              .append(o.row())
              .append(": ")
              .append(o.value() == null ? "null" : "'" + o.value() + "'");
        }
        b.append(")");
      }
      b.append('\n');
    }
    b.append(passed() ? "PASSED" : "FAILED")
        .append(' ')
        .append(data)
        .append(": ")
        .append(checks.size() - failures().size())
        .append(" of ")
        .append(checks.size())
        .append(" checks passed, ")
        .append(rows)
        .append(" rows, schema ")
        .append(schema)
        .append('\n');
    return b.toString();
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("passed", passed());
    m.put("data", data);
    m.put("schema", schema);
    m.put("rows", rows);
    m.put("checks", checks.size());
    List<Map<String, Object>> fails = new ArrayList<>();
    for (Check c : failures()) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("column", c.column());
      f.put("check", c.check());
      f.put("count", c.count());
      f.put("message", c.message());
      List<Map<String, Object>> ex = new ArrayList<>();
      for (Offender o : c.examples()) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("row", o.row());
        e.put("value", o.value());
        ex.add(e);
      }
      f.put("rows", ex);
      fails.add(f);
    }
    m.put("failures", fails);
    return m;
  }
}
