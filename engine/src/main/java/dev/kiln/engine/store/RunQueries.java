package dev.kiln.engine.store;

import dev.kiln.engine.store.Sql.Jsonb;
import dev.kiln.engine.task.RunStatus;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The reads the HTTP API and the web UI serve that the CLI does not need: runs by keyset page, a
 * task's attempts, its log in bounded pages, artifacts, trigger history, and the queue figures
 * /metrics shows. Both read the same records; writes go through RunService and TaskQueue.
 */
public final class RunQueries {
  private final Database db;

  public RunQueries(Database db) {
    this.db = db;
  }

  /** One page of runs, newest first; {@code next} is the id to continue below, or null. */
  public record Page(List<RunRecord> runs, Long next) {}

  /**
   * What runs to list; null fields do not filter. {@code tags}: runs having all of them; {@code
   * search}: a run id, or text in the pipeline name, trigger or tags; {@code before}: a page cursor
   * (a run id).
   */
  public record Filter(
      String pipeline,
      RunStatus status,
      Map<String, String> tags,
      String search,
      Long before,
      int limit) {
    public Filter {
      tags = tags == null ? Map.of() : Map.copyOf(tags);
      search = search == null || search.isBlank() ? null : search.trim();
    }
  }

  /** Runs matching the filter: one index scan down the primary key, whatever the page. */
  public Page runs(Filter f) {
    String search = f.search();
    Long exactId = search != null && search.matches("\\d{1,18}") ? Long.parseLong(search) : null;
    String status = f.status() == null ? null : f.status().db();
    List<RunRecord> rows =
        db.tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select "
                            + RunStore.RUN_COLUMNS
                            + " from runs where id < ? and (?::text is null or pipeline = ?)"
                            + " and (?::text is null or status = ?) and tags @> ?"
                            + " and (?::text is null or id = ? or strpos(pipeline, ?) > 0"
                            + " or trigger = ? or strpos(lower(tags::text), lower(?)) > 0)"
                            + " order by id desc limit ?",
                        RunStore::mapRun,
                        f.before() == null ? Long.MAX_VALUE : f.before(),
                        f.pipeline(),
                        f.pipeline(),
                        status,
                        status,
                        Jsonb.of(f.tags()),
                        search,
                        exactId,
                        search,
                        search,
                        search,
                        f.limit() + 1));
    if (rows.size() > f.limit()) {
      List<RunRecord> page = List.copyOf(rows.subList(0, f.limit()));
      return new Page(page, page.get(f.limit() - 1).id());
    }
    return new Page(rows, null);
  }

  /** The names of every pipeline that ever ran, sorted. */
  public List<String> pipelineNames() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select distinct name from pipeline_versions order by name",
                    rs -> rs.getString(1)));
  }

  /** One attempt of a task. */
  public record Attempt(
      String task,
      int attempt,
      String worker,
      String status,
      Instant startedAt,
      Instant finishedAt,
      Integer exitCode,
      String error) {}

  /**
   * The attempts of a run's task, or of all the tasks of a matrix step, or (task null) of every
   * task of the run, in order.
   */
  public List<Attempt> attempts(long runId, String task) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, a.attempt, a.worker, a.status, a.started_at, a.finished_at,
               a.exit_code, a.error
          from task_attempts a join tasks t on t.id = a.task_id
         where t.run_id = ? and (?::text is null or t.step_id = ?
                or left(t.step_id, length(?) + 1) = ? || '[')
         order by t.id, a.attempt""",
                    rs ->
                        new Attempt(
                            rs.getString(1),
                            rs.getInt(2),
                            rs.getString(3),
                            rs.getString(4),
                            Sql.instant(rs, "started_at"),
                            Sql.instant(rs, "finished_at"),
                            Sql.intOrNull(rs, "exit_code"),
                            rs.getString(8)),
                    runId,
                    task,
                    task,
                    task,
                    task));
  }

  /** Whether a run has a task (or matrix step) of this name. */
  public boolean hasTask(long runId, String task) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        """
        select 1 from tasks where run_id = ?
           and (step_id = ? or left(step_id, length(?) + 1) = ? || '[') limit 1""",
                        rs -> true,
                        runId,
                        task,
                        task,
                        task)
                    .isPresent());
  }

  /**
   * Whether the task (every task of a matrix step) is settled: nothing more will be written to its
   * log. True as well when its run ended.
   */
  public boolean taskEnded(long runId, String task) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        """
        select not exists (
                 select 1 from tasks where run_id = ? and status in ('queued', 'running')
                    and (step_id = ? or left(step_id, length(?) + 1) = ? || '['))""",
                        rs -> rs.getBoolean(1),
                        runId,
                        task,
                        task,
                        task)
                    .orElse(true));
  }

  /**
   * What lines of a log to read: after line {@code afterId}, of one stream and containing a text
   * (case-insensitive) when those are given, at most {@code limit} (null: all).
   */
  public record LogQuery(String stream, String search, long afterId, Integer limit) {
    public LogQuery {
      search = search == null || search.isEmpty() ? null : search;
    }

    public static LogQuery page(long afterId, int limit) {
      return new LogQuery(null, null, afterId, limit);
    }
  }

  /**
   * Log lines of a run's task, of all the tasks of a matrix step, or (task null) of the whole run,
   * in the order they were written. With a limit a reader pages through a log of any size without
   * holding more than one page; the index on (task, id) serves each page.
   */
  public List<LogLine> logPage(long runId, String task, LogQuery q) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, l.attempt, l.stream, l.line, l.at, l.id
          from task_logs l join tasks t on t.id = l.task_id
         where t.run_id = ? and (?::text is null or t.step_id = ?
                or left(t.step_id, length(?) + 1) = ? || '[') and l.id > ?
           and (?::text is null or l.stream = ?)
           and (?::text is null or strpos(lower(l.line), lower(?)) > 0)
         order by l.id limit ?""",
                    rs ->
                        new LogLine(
                            rs.getString(1),
                            rs.getInt(2),
                            rs.getString(3),
                            rs.getString(4),
                            Sql.instant(rs, "at"),
                            rs.getLong(6)),
                    runId,
                    task,
                    task,
                    task,
                    task,
                    q.afterId(),
                    q.stream(),
                    q.stream(),
                    q.search(),
                    q.search(),
                    q.limit()));
  }

  /** An artifact a run's step made; its bytes are in the artifact store under {@code sha256}. */
  public record Artifact(String step, String name, String sha256, long size, String kind) {}

  public List<Artifact> artifacts(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select step_id, name, sha256, size, kind from artifacts where run_id = ?"
                        + " order by step_id, name",
                    RunQueries::artifact,
                    runId));
  }

  public Optional<Artifact> artifact(long runId, String step, String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select step_id, name, sha256, size, kind from artifacts"
                        + " where run_id = ? and step_id = ? and name = ?",
                    RunQueries::artifact,
                    runId,
                    step,
                    name));
  }

  private static Artifact artifact(ResultSet rs) throws SQLException {
    return new Artifact(
        rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), rs.getString(5));
  }

  /** A run a trigger started, or a firing that started nothing (run null, reason set). */
  public record Firing(String trigger, Long runId, String status, Instant at, String reason) {}

  /** The newest firings of a pipeline's triggers (runs not started by hand, and skips). */
  public List<Firing> firings(String pipeline, int limit) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        (select trigger, id as run_id, status, coalesce(scheduled_at, created_at) as at,
                null::text as reason
           from runs where pipeline = ? and trigger in ('cron', 'webhook', 'files', 'backfill')
          order by id desc limit ?)
        union all
        (select trigger, null, null, coalesce(scheduled_at, at), reason
           from trigger_skips where pipeline = ? order by id desc limit ?)
        order by at desc limit ?""",
                    rs ->
                        new Firing(
                            rs.getString(1),
                            Sql.longOrNull(rs, "run_id"),
                            rs.getString(3),
                            Sql.instant(rs, "at"),
                            rs.getString(5)),
                    pipeline,
                    limit,
                    pipeline,
                    limit,
                    limit));
  }

  /** A queue's waiting work: tasks ready to claim, and how long the oldest has waited. */
  public record QueueDepth(String queue, long ready, double oldestSeconds) {}

  /** Queued tasks per queue whose backoff has passed (a retry waiting out its backoff is not). */
  public List<QueueDepth> queueDepths() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select queue, count(*),
               coalesce(extract(epoch from now() - min(greatest(created_at, not_before))), 0)
          from tasks where status = 'queued' and not_before <= now() group by queue""",
                    rs -> new QueueDepth(rs.getString(1), rs.getLong(2), rs.getDouble(3))));
  }
}
