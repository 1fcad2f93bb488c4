package dev.kiln.engine.store;

import dev.kiln.engine.store.Sql.Jsonb;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** Reads of runs, their steps, events and logs. Writes go through RunService and TaskQueue. */
public final class RunStore {
  private final Database db;

  public RunStore(Database db) {
    this.db = db;
  }

  static final String RUN_COLUMNS =
      "id, pipeline, pipeline_version, params, trigger, base_dir, status, retry_of, created_at,"
          + " started_at, finished_at, tags";

  static final String TASK_COLUMNS =
      "id, run_id, step_id, status, queue, attempt, max_attempts, worker, outputs, exit_code,"
          + " error, reused_from, created_at, started_at, finished_at, cache_key";

  public Optional<RunRecord> run(long id) {
    return db.tx().inTransaction(c -> run(c, id));
  }

  static Optional<RunRecord> run(Connection c, long id) throws SQLException {
    return Sql.one(c, "select " + RUN_COLUMNS + " from runs where id = ?", RunStore::mapRun, id);
  }

  public List<RunRecord> runs(String pipeline, int limit) {
    return runs(pipeline, Map.of(), limit);
  }

  /**
   * The newest runs, of one pipeline when {@code pipeline} is not null, having all {@code tags}.
   */
  public List<RunRecord> runs(String pipeline, Map<String, String> tags, int limit) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select "
                        + RUN_COLUMNS
                        + " from runs"
                        + " where (?::text is null or pipeline = ?) and tags @> ?"
                        + " order by id desc limit ?",
                    RunStore::mapRun,
                    pipeline,
                    pipeline,
                    Jsonb.of(tags),
                    limit));
  }

  /**
   * Whether the run is over: its status is final and none of its tasks still runs (the steps of a
   * cancelled run may still be stopping). False for a run that does not exist.
   */
  public boolean ended(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        """
        select r.status in ('succeeded', 'failed', 'cancelled')
               and not exists (select 1 from tasks t where t.run_id = r.id and t.status = 'running')
          from runs r where r.id = ?""",
                        rs -> rs.getBoolean(1),
                        runId)
                    .orElse(false));
  }

  public List<TaskRecord> tasks(long runId) {
    return db.tx().inTransaction(c -> tasks(c, runId));
  }

  static List<TaskRecord> tasks(Connection c, long runId) throws SQLException {
    return Sql.query(
        c,
        "select " + TASK_COLUMNS + " from tasks where run_id = ? order by id",
        RunStore::mapTask,
        runId);
  }

  /** What a follower of a run reads on each wake-up: whether it has ended, and its new events. */
  public record Progress(boolean ended, List<RunEvent> events) {}

  /**
   * {@link #ended} and the events after {@code afterId} in one statement (one snapshot, one round
   * trip); once the run has ended, all its events, since event ids are taken when written but seen
   * when committed, so one with a smaller id can commit after a larger one was read.
   */
  public Progress progress(long runId, long afterId) {
    return db.tx()
        .autocommit(
            c -> {
              boolean[] ended = {false};
              List<RunEvent> events =
                  Sql.query(
                      c,
                      """
          with r as (
            select r.status in ('succeeded', 'failed', 'cancelled')
                   and not exists (select 1 from tasks t
                                    where t.run_id = r.id and t.status = 'running') as ended
              from runs r where r.id = ?)
          select r.ended, e.id, e.run_id, e.step_id, e.status, e.detail, e.at
            from r left join run_events e
              on e.run_id = ? and e.id > case when r.ended then 0 else ? end
           order by e.id""",
                      rs -> {
                        ended[0] = rs.getBoolean("ended");
                        return rs.getObject("id") == null ? null : event(rs);
                      },
                      runId,
                      runId,
                      afterId);
              return new Progress(ended[0], events.stream().filter(Objects::nonNull).toList());
            });
  }

  private static RunEvent event(ResultSet rs) throws SQLException {
    return new RunEvent(
        rs.getLong("id"),
        rs.getLong("run_id"),
        rs.getString("step_id"),
        rs.getString("status"),
        rs.getString("detail"),
        Sql.instant(rs, "at"));
  }

  public List<RunEvent> events(long runId, long afterId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select id, run_id, step_id, status, detail, at from run_events"
                        + " where run_id = ? and id > ? order by id",
                    RunStore::event,
                    runId,
                    afterId));
  }

  /**
   * Log lines of a run, or of one step or task of it, in the order they were written. A matrix
   * step's id selects all its tasks ({@code step[...]}); a task name, that task.
   */
  public List<LogLine> logs(long runId, String stepId) {
    return logs(runId, stepId, 0);
  }

  /** The log lines written after line {@code afterId} (a {@link LogLine#id()}). */
  public List<LogLine> logs(long runId, String stepId, long afterId) {
    return new RunQueries(db)
        .logPage(runId, stepId, new RunQueries.LogQuery(null, null, afterId, null));
  }

  /** The file a run's pipeline was read from (as given to kiln run or the server), if known. */
  public Optional<String> pipelineFile(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select pipeline_file from runs where id = ? and pipeline_file is not null",
                    rs -> rs.getString(1),
                    runId));
  }

  public Optional<String> pipelineSource(String version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select source from pipeline_versions where version = ?",
                    rs -> rs.getString(1),
                    version));
  }

  /** Metrics of a run: step -> key -> values in the order written. */
  public Map<String, Map<String, List<Double>>> metrics(long runId) {
    Map<String, Map<String, List<Double>>> out = new LinkedHashMap<>();
    db.tx()
        .run(
            c ->
                Sql.query(
                    c,
                    "select step_id, key, value from metrics where run_id = ? order by step_id, key, idx",
                    rs -> {
                      out.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>())
                          .computeIfAbsent(rs.getString(2), k -> new ArrayList<>())
                          .add(rs.getDouble(3));
                      return null;
                    },
                    runId));
    return out;
  }

  /** A stored pipeline version: the file it was read from (or null) and its text. */
  public record StoredPipeline(String file, String source) {}

  /** The newest stored version of the pipeline named {@code name}. */
  public Optional<StoredPipeline> latestPipeline(String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    """
        select source_file, source from pipeline_versions where name = ?
         order by created_at desc limit 1""",
                    rs -> new StoredPipeline(rs.getString(1), rs.getString(2)),
                    name));
  }

  /**
   * A metric key of a run: each task's last value of it, as the range over the {@code tasks} that
   * wrote it (one task: min = max).
   */
  public record MetricRange(String key, int tasks, double min, double max) {}

  public List<MetricRange> metricRanges(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        with last as (
          select distinct on (step_id, key) step_id, key, value from metrics where run_id = ?
           order by step_id, key, at desc, idx desc)
        select key, count(*), min(value), max(value) from last group by key order by key""",
                    rs ->
                        new MetricRange(
                            rs.getString(1), rs.getInt(2), rs.getDouble(3), rs.getDouble(4)),
                    runId));
  }

  /** A model version a run registered, with its aliases ("a, b"; null when it has none). */
  public record RegisteredModel(String name, String version, String aliases) {}

  public List<RegisteredModel> models(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select v.name, v.version,
               (select string_agg(a.alias, ', ' order by a.alias) from model_aliases a
                 where a.name = v.name and a.version = v.version)
          from model_versions v where v.run_id = ? order by v.name, v.version""",
                    rs -> new RegisteredModel(rs.getString(1), rs.getString(2), rs.getString(3)),
                    runId));
  }

  static RunRecord mapRun(ResultSet rs) throws SQLException {
    return new RunRecord(
        rs.getLong("id"),
        rs.getString("pipeline"),
        rs.getString("pipeline_version"),
        SecretBox.process().openParams(Json.readMap(rs.getString("params"))),
        rs.getString("trigger"),
        rs.getString("base_dir"),
        RunStatus.of(rs.getString("status")),
        Sql.longOrNull(rs, "retry_of"),
        Sql.instant(rs, "created_at"),
        Sql.instant(rs, "started_at"),
        Sql.instant(rs, "finished_at"),
        Json.readStringMap(rs.getString("tags")));
  }

  static TaskRecord mapTask(ResultSet rs) throws SQLException {
    return new TaskRecord(
        rs.getLong("id"),
        rs.getLong("run_id"),
        rs.getString("step_id"),
        StepStatus.of(rs.getString("status")),
        rs.getString("queue"),
        rs.getInt("attempt"),
        rs.getInt("max_attempts"),
        rs.getString("worker"),
        Json.readStringMap(rs.getString("outputs")),
        Sql.intOrNull(rs, "exit_code"),
        rs.getString("error"),
        Sql.longOrNull(rs, "reused_from"),
        Sql.instant(rs, "created_at"),
        Sql.instant(rs, "started_at"),
        Sql.instant(rs, "finished_at"),
        rs.getString("cache_key") != null && Sql.longOrNull(rs, "reused_from") != null);
  }
}
