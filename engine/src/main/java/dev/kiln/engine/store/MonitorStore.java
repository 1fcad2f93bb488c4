package dev.kiln.engine.store;

import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Monitor reports, their per-column (or per-metric) values and incidents, in the state store.
 * Recording a check and moving its incident happen in one transaction.
 */
public final class MonitorStore {
  /** What a check found. kind is "drift" or "metrics"; alarm is drifted or degraded. */
  public record Check(
      String monitor,
      String kind,
      Long runId,
      String stepId,
      boolean alarm,
      Double score,
      Map<String, Object> report,
      List<Value> values) {}

  /** One column (drift) or metric (performance) of a check. */
  public record Value(
      String name,
      String method,
      Double statistic,
      Double pValue,
      Double threshold,
      boolean alarm) {}

  /** What the check did to the monitor's incident. */
  public enum Transition {
    /** An alarm with no incident open: this check opened one. */
    OPENED,
    /** An alarm while an incident was open: the incident goes on. */
    ONGOING,
    /** A clean check closed the open incident. */
    CLOSED,
    /** A clean check, nothing open. */
    NONE
  }

  public record Recorded(long reportId, Long incidentId, Transition transition) {}

  public record HistoryRow(
      long reportId,
      Instant at,
      Long runId,
      String kind,
      boolean alarm,
      Double score,
      List<Value> values) {}

  public record Incident(
      long id,
      String kind,
      String status,
      Instant openedAt,
      Instant closedAt,
      int checks,
      Long openedByRun) {}

  private final Database db;

  public MonitorStore(Database db) {
    this.db = db;
  }

  public Recorded record(Check c) {
    return db.tx()
        .inTransaction(
            conn -> {
              long reportId =
                  Sql.one(
                          conn,
                          """
          insert into monitor_reports (monitor, kind, run_id, step_id, alarm, score, report)
          values (?, ?, ?, ?, ?, ?, ?) returning id""",
                          rs -> rs.getLong(1),
                          c.monitor(),
                          c.kind(),
                          c.runId(),
                          c.stepId(),
                          c.alarm(),
                          finite(c.score()),
                          Jsonb.of(c.report()))
                      .orElseThrow();
              for (Value v : c.values()) {
                Sql.update(
                    conn,
                    """
            insert into monitor_values (report_id, name, method, statistic, p_value, threshold, alarm)
            values (?, ?, ?, ?, ?, ?, ?)""",
                    reportId,
                    v.name(),
                    v.method(),
                    v.statistic(),
                    v.pValue(),
                    v.threshold(),
                    v.alarm());
              }
              return c.alarm() ? alarm(conn, c, reportId) : clean(conn, c, reportId);
            });
  }

  private static Recorded alarm(Connection conn, Check c, long reportId) throws SQLException {
    Optional<Long> opened =
        Sql.one(
            conn,
            """
        insert into monitor_incidents (monitor, kind, status, opened_by, last_report)
        values (?, ?, 'open', ?, ?)
        on conflict (monitor, kind) where status = 'open' do nothing
        returning id""",
            rs -> rs.getLong(1),
            c.monitor(),
            c.kind(),
            reportId,
            reportId);
    if (opened.isPresent()) {
      return new Recorded(reportId, opened.get(), Transition.OPENED);
    }
    long id =
        Sql.one(
                conn,
                """
        update monitor_incidents set checks = checks + 1, last_report = ?
        where monitor = ? and kind = ? and status = 'open' returning id""",
                rs -> rs.getLong(1),
                reportId,
                c.monitor(),
                c.kind())
            .orElseThrow(
                () ->
                    new SQLException(
                        "the open incident of "
                            + c.monitor()
                            + " was closed while this check recorded an alarm; run the check again"));
    return new Recorded(reportId, id, Transition.ONGOING);
  }

  private static Recorded clean(Connection conn, Check c, long reportId) throws SQLException {
    Optional<Long> closed =
        Sql.one(
            conn,
            """
        update monitor_incidents set status = 'closed', closed_at = now(), closed_by = ?,
               last_report = ?
        where monitor = ? and kind = ? and status = 'open' returning id""",
            rs -> rs.getLong(1),
            reportId,
            reportId,
            c.monitor(),
            c.kind());
    return closed
        .map(id -> new Recorded(reportId, id, Transition.CLOSED))
        .orElseGet(() -> new Recorded(reportId, null, Transition.NONE));
  }

  /** The newest reports of a monitor first, each with its values. */
  public List<HistoryRow> history(String monitor, int limit) {
    return db.tx()
        .inTransaction(
            conn -> {
              List<HistoryRow> rows = new ArrayList<>();
              for (HistoryRow r :
                  Sql.query(
                      conn,
                      """
          select id, created_at, run_id, kind, alarm, score from monitor_reports
          where monitor = ? order by created_at desc, id desc limit ?""",
                      rs ->
                          new HistoryRow(
                              rs.getLong("id"),
                              Sql.instant(rs, "created_at"),
                              Sql.longOrNull(rs, "run_id"),
                              rs.getString("kind"),
                              rs.getBoolean("alarm"),
                              doubleOrNull(rs, "score"),
                              List.of()),
                      monitor,
                      limit)) {
                List<Value> values =
                    Sql.query(
                        conn,
                        """
            select name, method, statistic, p_value, threshold, alarm from monitor_values
            where report_id = ? order by name""",
                        rs ->
                            new Value(
                                rs.getString("name"),
                                rs.getString("method"),
                                doubleOrNull(rs, "statistic"),
                                doubleOrNull(rs, "p_value"),
                                doubleOrNull(rs, "threshold"),
                                rs.getBoolean("alarm")),
                        r.reportId());
                rows.add(
                    new HistoryRow(
                        r.reportId(), r.at(), r.runId(), r.kind(), r.alarm(), r.score(), values));
              }
              return rows;
            });
  }

  /** A monitor's incidents, newest first. */
  public List<Incident> incidents(String monitor) {
    return db.tx()
        .inTransaction(
            conn ->
                Sql.query(
                    conn,
                    """
        select i.id, i.kind, i.status, i.opened_at, i.closed_at, i.checks, r.run_id
        from monitor_incidents i join monitor_reports r on r.id = i.opened_by
        where i.monitor = ? order by i.opened_at desc, i.id desc""",
                    rs ->
                        new Incident(
                            rs.getLong("id"),
                            rs.getString("kind"),
                            rs.getString("status"),
                            Sql.instant(rs, "opened_at"),
                            Sql.instant(rs, "closed_at"),
                            rs.getInt("checks"),
                            Sql.longOrNull(rs, "run_id")),
                    monitor));
  }

  /** A monitor as its newest report left it. */
  public record Monitor(
      String monitor,
      String kind,
      long reports,
      Instant lastAt,
      boolean alarm,
      Double score,
      boolean incidentOpen) {}

  /** Every monitor that made a report, by name and kind. */
  public List<Monitor> monitors() {
    return db.tx()
        .inTransaction(
            conn ->
                Sql.query(
                    conn,
                    """
        select distinct on (r.monitor, r.kind) r.monitor, r.kind,
               count(*) over (partition by r.monitor, r.kind), r.created_at, r.alarm, r.score,
               exists (select 1 from monitor_incidents i where i.monitor = r.monitor
                          and i.kind = r.kind and i.status = 'open')
          from monitor_reports r order by r.monitor, r.kind, r.created_at desc, r.id desc""",
                    rs ->
                        new Monitor(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getLong(3),
                            Sql.instant(rs, "created_at"),
                            rs.getBoolean(5),
                            doubleOrNull(rs, "score"),
                            rs.getBoolean(7))));
  }

  /** One stored report in full: what the check wrote (its JSON) and where it came from. */
  public record Report(
      long id,
      String monitor,
      String kind,
      Long runId,
      String stepId,
      boolean alarm,
      Double score,
      Map<String, Object> report,
      Instant at) {}

  public Optional<Report> report(long id) {
    return db.tx()
        .inTransaction(
            conn ->
                Sql.one(
                    conn,
                    """
        select id, monitor, kind, run_id, step_id, alarm, score, report::text, created_at
          from monitor_reports where id = ?""",
                    rs ->
                        new Report(
                            rs.getLong(1),
                            rs.getString(2),
                            rs.getString(3),
                            Sql.longOrNull(rs, "run_id"),
                            rs.getString(5),
                            rs.getBoolean(6),
                            doubleOrNull(rs, "score"),
                            Json.readMap(rs.getString(8)),
                            Sql.instant(rs, "created_at")),
                    id));
  }

  /** The share of drifted columns in each drift monitor's newest report (for /metrics). */
  public Map<String, Double> latestDriftShares() {
    Map<String, Double> out = new LinkedHashMap<>();
    db.tx()
        .run(
            conn ->
                Sql.query(
                    conn,
                    """
        select distinct on (monitor) monitor, score from monitor_reports
         where kind = 'drift' and score is not null
         order by monitor, created_at desc, id desc""",
                    rs -> out.put(rs.getString(1), rs.getDouble(2))));
    return out;
  }

  private static Double doubleOrNull(ResultSet rs, String col) throws SQLException {
    double v = rs.getDouble(col);
    return rs.wasNull() ? null : v;
  }

  private static Double finite(Double d) {
    return d == null || d.isNaN() ? null : d;
  }

  static String json(Object o) {
    return Json.write(o);
  }
}
