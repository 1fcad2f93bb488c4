package dev.kiln.steps.drift;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The drift report of a data set: per column, and whether enough columns drifted. */
record DriftReport(
    String reference,
    String current,
    long referenceRows,
    long currentRows,
    double driftShare,
    List<ColumnDrift> columns) {

  public DriftReport {
    columns = List.copyOf(columns);
  }

  /** Columns that were compared (not those with an error). */
  public int checkedColumns() {
    return (int) columns.stream().filter(c -> c.error() == null).count();
  }

  public int driftedColumns() {
    return (int) columns.stream().filter(ColumnDrift::drifted).count();
  }

  public double shareDrifted() {
    int checked = checkedColumns();
    return checked == 0 ? 0.0 : (double) driftedColumns() / checked;
  }

  public boolean drifted() {
    return checkedColumns() > 0 && shareDrifted() >= driftShare;
  }

  /** The report as {@code kiln drift --json} prints it; non-finite numbers become null. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("drifted", drifted());
    m.put("share_drifted", shareDrifted());
    m.put("drifted_columns", driftedColumns());
    m.put("checked_columns", checkedColumns());
    m.put("drift_share", driftShare);
    m.put("reference", reference);
    m.put("current", current);
    m.put("reference_rows", referenceRows);
    m.put("current_rows", currentRows);
    List<Map<String, Object>> cols = new ArrayList<>();
    for (ColumnDrift c : columns) {
      Map<String, Object> cm = new LinkedHashMap<>();
      cm.put("column", c.column());
      cm.put("type", c.type());
      cm.put("method", c.method());
      cm.put("statistic", finite(c.statistic()));
      cm.put("p_value", finite(c.pValue()));
      cm.put("threshold", c.threshold());
      cm.put("drifted", c.drifted());
      if (c.error() != null) {
        cm.put("error", c.error());
      }
      cols.add(cm);
    }
    m.put("columns", cols);
    return m;
  }

  static Double finite(Double d) {
    return d == null || Double.isNaN(d) || Double.isInfinite(d) ? null : d;
  }
}
