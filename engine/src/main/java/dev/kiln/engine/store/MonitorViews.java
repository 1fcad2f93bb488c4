package dev.kiln.engine.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The reads of the monitoring dashboard: every monitor at a glance, a report's HTML artifact. */
public final class MonitorViews {
  /** A monitor: its newest report and how many incidents are open. */
  public record Summary(
      String monitor,
      String kind,
      int reports,
      Instant lastAt,
      Double lastScore,
      boolean lastAlarm,
      int openIncidents) {}

  private final Database db;

  public MonitorViews(Database db) {
    this.db = db;
  }

  public List<Summary> monitors() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select m.monitor, m.kind, m.reports, r.created_at, r.score, r.alarm,
               (select count(*) from monitor_incidents i
                 where i.monitor = m.monitor and i.status = 'open')
          from (select monitor, min(kind) as kind, count(*) as reports, max(id) as last
                  from monitor_reports group by monitor) m
          join monitor_reports r on r.id = m.last
         order by m.monitor""",
                    rs -> {
                      double score = rs.getDouble(5);
                      return new Summary(
                          rs.getString(1),
                          rs.getString(2),
                          rs.getInt(3),
                          Sql.instant(rs, "created_at"),
                          rs.wasNull() ? null : score,
                          rs.getBoolean(6),
                          rs.getInt(7));
                    }));
  }

  /**
   * The sha256 of the HTML report a drift check stored as its step's artifact {@code report}, for a
   * report of {@code monitor}; empty when the check ran outside a run or kept no report.
   */
  public Optional<String> reportHtml(String monitor, long reportId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    """
        select a.sha256 from monitor_reports r
          join artifacts a on a.run_id = r.run_id and a.step_id = r.step_id and a.name = 'report'
         where r.id = ? and r.monitor = ? and a.kind = 'file'""",
                    rs -> rs.getString(1),
                    reportId,
                    monitor));
  }

  /**
   * An alert a run of the monitor sent: a {@code notify/webhook} task of a run that recorded a
   * report of the monitor, delivered (its recorded HTTP status) or failed (its error).
   */
  public record Alert(
      long runId, String stepId, String status, Instant at, String httpStatus, String error) {}

  /** The newest alerts of a monitor's runs, at most {@code limit}. */
  public List<Alert> alerts(String monitor, int limit) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.run_id, t.step_id, t.status, coalesce(t.finished_at, t.created_at) as at,
               s.result ->> 'status', t.error
          from tasks t
          left join side_effects s on s.task_id = t.id and s.effect = 'notify/webhook'
         where t.run_id in (select run_id from monitor_reports
                             where monitor = ? and run_id is not null)
           and t.spec ->> 'uses' = 'notify/webhook' and t.status in ('succeeded', 'failed')
         order by t.id desc limit ?""",
                    rs ->
                        new Alert(
                            rs.getLong(1),
                            rs.getString(2),
                            rs.getString(3),
                            Sql.instant(rs, "at"),
                            rs.getString(5),
                            rs.getString(6)),
                    monitor,
                    limit));
  }
}
