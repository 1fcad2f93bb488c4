package dev.kiln.engine.store;

import java.sql.Array;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SQL of retention: which finished runs are older than a cutoff and referenced by nothing that
 * stays, how much of each kind of row they hold, and their deletion in bounded pieces.
 *
 * <p>A run stays while it is queued or running or has a task that is, while the model registry or a
 * dataset version names it as the run that made them (lineage starts there), and while a run that
 * stays refers to it: as the run it retried ({@code retry_of}), or through a task that took a
 * result of one of its tasks ({@code reused_from}: a cache hit or a retry's copy). The last rule is
 * followed through chains, so the dry run's counts are what the deletion removes.
 *
 * <p>Served models' live traffic ({@code prediction_log}) refers to no run: its rows older than the
 * cutoff go by the time they were received, {@link #LOG_PIECE} per transaction.
 */
public final class Retention {
  /** Log lines deleted per statement: a run with a million lines is not one transaction. */
  static final int LOG_PIECE = 10_000;

  /** The kinds counted, in the order they are printed; "blobs" is stored content. */
  public static final List<String> KINDS =
      List.of(
          "runs",
          "tasks",
          "attempts",
          "logs",
          "events",
          "metrics",
          "artifacts",
          "trigger_keys",
          "predictions",
          "blobs");

  private final Tx tx;

  public Retention(Database db) {
    this.tx = db.tx();
  }

  /**
   * The runs to delete, as a CTE named {@code gone}; the one parameter is the age in seconds, on
   * the database's clock. Everything else a candidate refers to (its tasks, and so on) goes with
   * it.
   */
  private static final String GONE =
      """
      with recursive cand as materialized (
        select r.id from runs r
         where r.status in ('succeeded', 'failed', 'cancelled')
           and coalesce(r.finished_at, r.created_at) < now() - make_interval(secs => ?)
           and not exists (select 1 from model_versions m where m.run_id = r.id)
           and not exists (select 1 from dataset_versions d where d.run_id = r.id)
           and not exists (select 1 from tasks t
                            where t.run_id = r.id and t.status in ('queued', 'running'))
      ),
      kept (id) as (
        select r.retry_of from runs r
         where r.retry_of in (select id from cand) and r.id not in (select id from cand)
        union
        select t.run_id from tasks t join tasks u on u.reused_from = t.id
         where t.run_id in (select id from cand) and u.run_id not in (select id from cand)
        union
        select x.ref from kept k cross join lateral (
          select r.retry_of as ref from runs r where r.id = k.id
          union all
          select t.run_id from tasks u join tasks t on t.id = u.reused_from where u.run_id = k.id
        ) x
         where x.ref in (select id from cand)
      ),
      gone as materialized (
        select id from cand c where not exists (select 1 from kept k where k.id = c.id)
      )
      """;

  /** A content hash nothing that stays refers to, once the runs in {@code gone} are deleted. */
  private static final String UNREFERENCED =
      """
      not exists (select 1 from artifacts a2
                   where a2.sha256 = a.sha256 and a2.run_id not in (select id from gone))
      and not exists (select 1 from model_versions m where m.artifact_sha256 = a.sha256)
      and not exists (select 1 from dataset_versions d where d.sha256 = a.sha256)
      """;

  /** Rows of {@code prediction_log} received before the cutoff; the parameter is the age. */
  private static final String OLD_PREDICTIONS =
      "prediction_log where received_at < now() - make_interval(secs => ?)";

  /**
   * How many rows of each kind a deletion of runs older than that would remove (runs, tasks,
   * attempts, logs, events, metrics, artifacts, trigger keys), how many rows of served models'
   * traffic ("predictions") are older, and how many stored contents ("blobs") would no longer be
   * referenced.
   */
  public Map<String, Long> count(Duration olderThan) {
    return tx.inTransaction(
        c ->
            Sql.one(
                    c,
                    GONE
                        + """
                        select
                          (select count(*) from gone) as runs,
                          (select count(*) from tasks where run_id in (select id from gone)) as tasks,
                          (select count(*) from task_attempts where task_id in
                              (select id from tasks where run_id in (select id from gone))) as attempts,
                          (select count(*) from task_logs where task_id in
                              (select id from tasks where run_id in (select id from gone))) as logs,
                          (select count(*) from run_events where run_id in (select id from gone)) as events,
                          (select count(*) from metrics where run_id in (select id from gone)) as metrics,
                          (select count(*) from artifacts where run_id in (select id from gone)) as artifacts,
                          (select count(*) from trigger_keys where run_id in (select id from gone))
                              as trigger_keys,
                          (select count(*) from """
                        + " "
                        + OLD_PREDICTIONS
                        + """
                        ) as predictions,
                          (select count(distinct a.sha256) from artifacts a
                            where a.run_id in (select id from gone) and """
                        + " "
                        + UNREFERENCED
                        + ") as blobs",
                    rs -> {
                      Map<String, Long> m = new LinkedHashMap<>();
                      for (String k : KINDS) {
                        m.put(k, rs.getLong(k));
                      }
                      return m;
                    },
                    (double) olderThan.toSeconds(),
                    (double) olderThan.toSeconds())
                .orElseThrow());
  }

  /**
   * Deletes the rows of {@code prediction_log} received before the cutoff, {@link #LOG_PIECE} per
   * transaction, so the proxies' batched writes never wait long; returns how many went.
   */
  public long deletePredictions(Duration olderThan) {
    return inPieces(
        c ->
            Sql.update(
                c,
                "delete from prediction_log where id in (select id from "
                    + OLD_PREDICTIONS
                    + " limit ?)",
                (double) olderThan.toSeconds(),
                LOG_PIECE));
  }

  /**
   * Runs a deletion of at most {@link #LOG_PIECE} rows in a transaction of its own until one
   * deletes fewer; returns how many went in all.
   */
  private long inPieces(Tx.Work<Integer> piece) {
    long deleted = 0;
    while (true) {
      int n = tx.inTransaction(piece);
      deleted += n;
      if (n < LOG_PIECE) {
        return deleted;
      }
    }
  }

  /**
   * Up to {@code limit} runs a deletion of runs older than that removes, newest first: a run refers
   * only to older ones, so a batch never waits for a referrer in a later batch.
   */
  public List<Long> nextRuns(Duration olderThan, int limit) {
    return tx.inTransaction(
        c ->
            Sql.query(
                c,
                GONE + "select id from gone order by id desc limit ?",
                rs -> rs.getLong(1),
                (double) olderThan.toSeconds(),
                limit));
  }

  /** What deleting a batch of runs removed. */
  public record Deleted(Map<String, Long> rows, List<String> contents) {}

  /**
   * Deletes the runs and everything of theirs: first their log lines, {@link #LOG_PIECE} per
   * transaction, then the rest in one transaction that checks again, under a lock on each run row,
   * that nothing that stays took a reference to them meanwhile. Returns the row counts and the
   * content hashes their artifact rows named (the caller checks which are still used).
   */
  public Deleted delete(List<Long> runIds) {
    Map<String, Long> rows = new LinkedHashMap<>();
    long logLines =
        inPieces(
            c ->
                Sql.update(
                    c,
                    """
                    delete from task_logs where id in (
                      select l.id from task_logs l join tasks t on t.id = l.task_id
                       where t.run_id = any(?) limit ?)""",
                    ids(c, runIds),
                    LOG_PIECE));
    return tx.inTransaction(
        c -> {
          Array ids = ids(c, runIds);
          // Lock the runs, then drop any a new reference reached since they were chosen (a retry
          // started, a cache hit taken): those stay.
          List<Long> still =
              Sql.query(
                  c,
                  """
                  select r.id from runs r where r.id = any(?)
                     and not exists (select 1 from runs o
                                      where o.retry_of = r.id and not o.id = any(?))
                     and not exists (select 1 from tasks t join tasks u on u.reused_from = t.id
                                      where t.run_id = r.id and not u.run_id = any(?))
                     and not exists (select 1 from model_versions m where m.run_id = r.id)
                     and not exists (select 1 from dataset_versions d where d.run_id = r.id)
                   order by r.id for update""",
                  rs -> rs.getLong(1),
                  ids,
                  ids,
                  ids);
          Array gone = ids(c, still);
          List<String> contents =
              Sql.query(
                  c,
                  "select distinct sha256 from artifacts where run_id = any(?)",
                  rs -> rs.getString(1),
                  gone);
          String tasks = "(select id from tasks where run_id = any(?))";
          rows.put("runs", (long) still.size());
          rows.put("logs", logLines + del(c, "task_logs where task_id in " + tasks, gone));
          rows.put("attempts", del(c, "task_attempts where task_id in " + tasks, gone));
          rows.put("events", del(c, "run_events where run_id = any(?)", gone));
          rows.put("metrics", del(c, "metrics where run_id = any(?)", gone));
          rows.put("artifacts", del(c, "artifacts where run_id = any(?)", gone));
          rows.put("trigger_keys", del(c, "trigger_keys where run_id = any(?)", gone));
          del(c, "run_dataset_reads where run_id = any(?)", gone);
          del(c, "run_dataset_pins where run_id = any(?)", gone);
          // A monitor's report outlives the run that made it (trends read reports, not runs).
          Sql.update(c, "update monitor_reports set run_id = null where run_id = any(?)", gone);
          // Tasks of these runs that point at each other; side_effects and approvals go by cascade.
          Sql.update(c, "update tasks set reused_from = null where run_id = any(?)", gone);
          Sql.update(c, "update runs set retry_of = null where id = any(?)", gone);
          rows.put("tasks", del(c, "tasks where run_id = any(?)", gone));
          del(c, "runs where id = any(?)", gone);
          return new Deleted(rows, contents);
        });
  }

  /** Whether anything in the store still names this content. */
  public boolean referenced(String sha256) {
    return tx.inTransaction(
        c ->
            Sql.one(
                    c,
                    """
                    select exists (select 1 from artifacts where sha256 = ?)
                        or exists (select 1 from model_versions where artifact_sha256 = ?)
                        or exists (select 1 from dataset_versions where sha256 = ?)""",
                    rs -> rs.getBoolean(1),
                    sha256,
                    sha256,
                    sha256)
                .orElseThrow());
  }

  private static long del(Connection c, String fromWhere, Array ids) throws SQLException {
    return Sql.update(c, "delete from " + fromWhere, ids);
  }

  private static Array ids(Connection c, List<Long> ids) throws SQLException {
    return c.createArrayOf("bigint", new ArrayList<>(ids).toArray());
  }
}
