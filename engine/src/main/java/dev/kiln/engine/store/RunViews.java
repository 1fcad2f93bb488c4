package dev.kiln.engine.store;

import dev.kiln.engine.task.StepStatus;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The reads the web UI's run pages make: runs a page at a time (keyset on the id, so the 1,000th
 * page costs what the first does), a run's attempts, metrics, artifacts and statuses, and a task's
 * log a page at a time. Writes go through RunService and TaskQueue.
 */
public final class RunViews {
  /** One page of runs, newest first; {@code next} is the cursor of the following page, or null. */
  public record Page(List<RunRecord> runs, Long next) {}

  /** What runs to list; null fields do not filter. {@code before} is a page cursor (a run id). */
  public record Filter(String pipeline, String status, String search, Long before, int limit) {}

  public record Attempt(
      String stepId,
      int attempt,
      String worker,
      String status,
      Instant startedAt,
      Instant finishedAt,
      Integer exitCode,
      String error) {}

  public record Metric(String stepId, String key, int idx, double value) {}

  public record Artifact(String stepId, String name, String sha256, long size, String kind) {}

  /** The status of one task: what a live run page polls. */
  public record TaskStatus(String stepId, StepStatus status, int attempt) {}

  /** What lines of a task's log to read; null fields do not filter. */
  public record LogQuery(String stream, String search, long afterId, int limit) {}

  private final Database db;

  public RunViews(Database db) {
    this.db = db;
  }

  public Page runs(Filter f) {
    String search = f.search() == null || f.search().isBlank() ? null : f.search().trim();
    Long searchId = null;
    if (search != null && search.matches("\\d{1,18}")) {
      searchId = Long.parseLong(search);
    }
    Long exactId = searchId;
    List<RunRecord> rows =
        db.tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select "
                            + RunStore.RUN_COLUMNS
                            + " from runs where (?::bigint is null or id < ?)"
                            + " and (?::text is null or pipeline = ?)"
                            + " and (?::text is null or status = ?)"
                            + " and (?::text is null or id = ? or strpos(pipeline, ?) > 0"
                            + " or trigger = ? or strpos(lower(tags::text), lower(?)) > 0)"
                            + " order by id desc limit ?",
                        RunStore::mapRun,
                        f.before(),
                        f.before(),
                        f.pipeline(),
                        f.pipeline(),
                        f.status(),
                        f.status(),
                        search,
                        exactId,
                        search,
                        search,
                        search,
                        f.limit() + 1));
    if (rows.size() > f.limit()) {
      List<RunRecord> page = rows.subList(0, f.limit());
      return new Page(List.copyOf(page), page.get(page.size() - 1).id());
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

  public List<TaskStatus> statuses(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select step_id, status, attempt from tasks where run_id = ? order by id",
                    rs ->
                        new TaskStatus(
                            rs.getString(1), StepStatus.of(rs.getString(2)), rs.getInt(3)),
                    runId));
  }

  public List<Attempt> attempts(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, a.attempt, a.worker, a.status, a.started_at, a.finished_at,
               a.exit_code, a.error
          from task_attempts a join tasks t on t.id = a.task_id
         where t.run_id = ? order by a.started_at, t.id, a.attempt""",
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
                    runId));
  }

  public List<Metric> metrics(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select step_id, key, idx, value from metrics where run_id = ?"
                        + " order by step_id, key, idx",
                    rs ->
                        new Metric(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getDouble(4)),
                    runId));
  }

  public List<Artifact> artifacts(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select step_id, name, sha256, size, kind from artifacts where run_id = ?"
                        + " order by step_id, name",
                    rs ->
                        new Artifact(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getLong(4),
                            rs.getString(5)),
                    runId));
  }

  public Optional<Artifact> artifact(long runId, String stepId, String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select step_id, name, sha256, size, kind from artifacts"
                        + " where run_id = ? and step_id = ? and name = ?",
                    rs ->
                        new Artifact(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getLong(4),
                            rs.getString(5)),
                    runId,
                    stepId,
                    name));
  }

  /**
   * Up to {@code limit} lines of one task's log after line {@code afterId}, of one stream and
   * containing a text (case-insensitive) when those are given. The task's index on (task, id)
   * serves it, so a page of a huge log costs what a page of a small one does.
   */
  public List<LogLine> log(long runId, String task, LogQuery q) {
    String search = q.search() == null || q.search().isEmpty() ? null : q.search();
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, l.attempt, l.stream, l.line, l.at, l.id
          from task_logs l join tasks t on t.id = l.task_id
         where t.run_id = ? and t.step_id = ? and l.id > ?
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
                    q.afterId(),
                    q.stream(),
                    q.stream(),
                    search,
                    search,
                    q.limit()));
  }
}
