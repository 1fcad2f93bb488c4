package dev.kiln.engine.run;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.run.RunSnapshot.StepState;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import dev.kiln.engine.store.StoreException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every change to a run's life cycle, each in one transaction that locks the run row first (so two
 * completions in one run plan one after the other) and then applies what {@link Planner} decides.
 */
public final class RunService {
  private static final Logger log = LoggerFactory.getLogger(RunService.class);

  private final Database db;
  private final ArtifactStore artifacts;
  private final PipelineCache pipelines = new PipelineCache();
  private final PlanWriter writer = new PlanWriter();

  /** How often a task may lose its worker before it fails. */
  static final int MAX_LOST = 3;

  public RunService(Database db, ArtifactStore artifacts) {
    this.db = db;
    this.artifacts = artifacts;
  }

  /** A new run, its pipeline version stored, its first steps queued. */
  public long createRun(Pipeline p, Map<String, Object> params, String trigger, String baseDir) {
    return createRun(p, params, trigger, baseDir, (c, runId) -> {});
  }

  /**
   * A new run driven by {@code driver} (a kiln run process that heartbeats it), with tags; with
   * {@code noCache} its {@code cache: true} steps run without reading the cache.
   */
  public long createRun(
      Pipeline p,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      String driver,
      Map<String, String> tags,
      boolean noCache) {
    return createRun(
        p,
        params,
        trigger,
        baseDir,
        (c, runId) -> {
          Sql.update(
              c,
              "update runs set driver = ?, driver_seen = now(), tags = ? where id = ?",
              driver,
              Sql.Jsonb.of(tags),
              runId);
          if (noCache) {
            bypassCache(c, runId);
          }
        });
  }

  /**
   * Makes the run's {@code cache: true} steps run instead of taking a cached result; their
   * successes are still recorded, so they become the newest entries.
   */
  public static void bypassCache(Connection c, long runId) throws SQLException {
    Sql.update(c, "update runs set no_cache = true where id = ?", runId);
  }

  /** A stored pipeline version, parsed (once per version and process). */
  public Pipeline pipeline(String version) {
    return pipelines
        .get(
            version,
            v ->
                db.tx()
                    .inTransaction(
                        c ->
                            Sql.one(
                                c,
                                "select source from pipeline_versions where version = ?",
                                rs -> rs.getString(1),
                                v))
                    .orElseThrow(() -> new IllegalStateException("no pipeline version " + v)))
        .pipeline();
  }

  /** Rows a caller adds to a new run before its first steps are queued, in the same transaction. */
  @FunctionalInterface
  public interface RunSetup {
    void apply(Connection c, long runId) throws SQLException;
  }

  /** A new run as above; setup writes its own rows about the run before any step can start. */
  public long createRun(
      Pipeline p, Map<String, Object> params, String trigger, String baseDir, RunSetup setup) {
    pipelines.put(p);
    return db.tx()
        .inTransaction(
            c -> {
              long runId = insertRun(c, p, params, trigger, baseDir, null, null);
              setup.apply(c, runId);
              advance(c, runId);
              return runId;
            });
  }

  /**
   * A new run inside the caller's transaction, so a trigger can record what started it (a delivery
   * id, a file) atomically with the run. {@code scheduledAt} is the time a schedule meant the run
   * for ({@code run.scheduled_at}), or null.
   */
  public long createRun(
      Connection c,
      Pipeline p,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      java.time.Instant scheduledAt)
      throws SQLException {
    pipelines.put(p);
    long runId = insertRun(c, p, params, trigger, baseDir, null, scheduledAt);
    advance(c, runId);
    return runId;
  }

  private static long insertRun(
      Connection c,
      Pipeline p,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      Long retryOf,
      java.time.Instant scheduledAt)
      throws SQLException {
    Sql.update(
        c,
        """
        insert into pipeline_versions (version, name, source_file, source) values (?, ?, ?, ?)
        on conflict (version) do nothing""",
        p.source().version(),
        p.name(),
        p.source().file(),
        p.source().text());
    long runId =
        Sql.one(
                c,
                """
        insert into runs (pipeline, pipeline_version, pipeline_file, params, trigger, base_dir,
                          status, retry_of, scheduled_at)
        values (?, ?, ?, ?, ?, ?, 'queued', ?, ?) returning id""",
                rs -> rs.getLong(1),
                p.name(),
                p.source().version(),
                p.source().file(),
                Jsonb.of(params),
                trigger,
                baseDir,
                retryOf,
                scheduledAt)
            .orElseThrow();
    PlanWriter.event(c, runId, null, "queued", "trigger " + trigger);
    return runId;
  }

  /**
   * Records the end of an attempt. Returns false, changing nothing, when the attempt is no longer
   * the task's current one (its lease expired and another worker took it, or it was settled).
   */
  public boolean complete(ClaimedTask t, Completion result) {
    boolean failed =
        result.outcome() == Completion.Outcome.FAILED
            || result.outcome() == Completion.Outcome.TIMED_OUT;
    return db.tx()
        .inTransaction(
            c -> {
              String[] run = lockRun(c, t.runId());
              if (failed) {
                var row =
                    Sql.one(
                        c,
                        """
            select max_attempts, backoff_ms, cancel_requested from tasks
             where id = ? and attempt = ? and worker = ? and status = 'running' for update""",
                        rs -> new long[] {rs.getInt(1), rs.getLong(2), rs.getBoolean(3) ? 1 : 0},
                        t.id(),
                        t.attempt(),
                        t.worker());
                if (row.isEmpty()) {
                  return refused(t);
                }
                boolean cancelRequested = row.get()[2] == 1;
                if (!cancelRequested && t.attempt() < row.get()[0]) {
                  Sql.update(
                      c,
                      """
              update task_attempts set status = 'failed', finished_at = now(), exit_code = ?,
                     error = ?
               where task_id = ? and attempt = ?""",
                      result.exitCode(),
                      result.error(),
                      t.id(),
                      t.attempt());
                  writer.requeue(
                      c,
                      t.runId(),
                      t.id(),
                      t.stepId(),
                      t.attempt(),
                      Duration.ofMillis(row.get()[1]),
                      result.error(),
                      result.exitCode());
                  return true;
                }
              }
              // Settling is itself the compare-and-set on (id, attempt, worker, running): a success
              // needs no separate read first.
              if (!writer.finishTask(c, t, result)) {
                return refused(t);
              }
              advance(c, t.runId(), run, true);
              return true;
            });
  }

  private static boolean refused(ClaimedTask t) {
    log.warn(
        "refused the result of {} attempt {} from {}: the task is no longer theirs",
        t.stepId(),
        t.attempt(),
        t.worker());
    return false;
  }

  /** A task taken from a worker that stopped renewing its lease (or is known to be dead). */
  public record Reaped(long taskId, int attempt, String worker) {}

  /**
   * Requeues or fails tasks whose worker stopped renewing its lease, or is one of {@code
   * deadWorkers} (a worker known to have died, whose lease need not be waited out). Any engine or
   * worker process may call this; the compare-and-set on the lease makes it safe to race.
   */
  public List<Reaped> reapLostTasks(java.util.Collection<String> deadWorkers) {
    String[] dead = deadWorkers.toArray(String[]::new);
    List<long[]> expired =
        db.tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        """
        select id, run_id from tasks
         where status = 'running' and (lease_until < now() or worker = any(?)) limit 200""",
                        rs -> new long[] {rs.getLong(1), rs.getLong(2)},
                        (Object) dead));
    List<Reaped> reaped = new java.util.ArrayList<>();
    for (long[] e : expired) {
      db.tx()
          .run(
              c -> {
                lockRun(c, e[1]);
                var row =
                    Sql.one(
                        c,
                        """
            select step_id, attempt, worker, max_attempts, backoff_ms, cancel_requested from tasks
             where id = ? and status = 'running' and (lease_until < now() or worker = any(?))
               for update""",
                        rs ->
                            new Object[] {
                              rs.getString(1),
                              rs.getInt(2),
                              rs.getString(3),
                              rs.getInt(4),
                              rs.getLong(5),
                              rs.getBoolean(6)
                            },
                        e[0],
                        dead);
                if (row.isEmpty()) {
                  return;
                }
                Object[] r = row.get();
                String step = (String) r[0];
                int attempt = (Integer) r[1];
                String why = "worker " + r[2] + " stopped renewing its lease";
                Sql.update(
                    c,
                    """
            update task_attempts set status = 'lost', finished_at = now(), error = ?
             where task_id = ? and attempt = ?""",
                    why,
                    e[0],
                    attempt);
                // A lost attempt is the infrastructure's fault, not the step's: it does not count
                // against the retry policy, up to MAX_LOST times (a step that keeps killing its
                // worker).
                int lost =
                    Sql.one(
                            c,
                            "select count(*) from task_attempts where task_id = ? and status = 'lost'",
                            rs -> rs.getInt(1),
                            e[0])
                        .orElse(0);
                boolean cancelled = (Boolean) r[5];
                if (!cancelled && lost <= MAX_LOST) {
                  Sql.update(
                      c, "update tasks set max_attempts = max_attempts + 1 where id = ?", e[0]);
                  writer.requeue(c, e[1], e[0], step, attempt, Duration.ZERO, why, null);
                } else {
                  var status = cancelled ? StepStatus.CANCELLED : StepStatus.FAILED;
                  writer.settleRunning(
                      c,
                      e[1],
                      e[0],
                      step,
                      status,
                      cancelled ? why : why + " (lost " + lost + " times)");
                  advance(c, e[1]);
                }
                reaped.add(new Reaped(e[0], attempt, (String) r[2]));
              });
    }
    return reaped;
  }

  /** {@link #reapLostTasks} for expired leases only. */
  public int reapExpiredLeases() {
    return reapLostTasks(List.of()).size();
  }

  /** Workers that hold running tasks now. */
  public List<String> busyWorkers() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select distinct worker from tasks where status = 'running' and worker is not null",
                    rs -> rs.getString(1)));
  }

  /** Records that {@code driver} (a kiln run process) still drives the run. */
  public boolean touchDriver(long runId, String driver) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.update(
                        c,
                        "update runs set driver_seen = now() where id = ? and driver = ?",
                        runId,
                        driver)
                    == 1);
  }

  /**
   * An unfinished run of this pipeline version with these params whose driver is gone: one of
   * {@code deadDrivers}, or silent for longer than {@code stale}. Taken over by {@code driver} in
   * the same statement, so two processes cannot both continue it.
   */
  public java.util.Optional<Long> takeOverAbandoned(
      String version,
      Map<String, Object> params,
      String driver,
      java.util.Collection<String> deadDrivers,
      Duration stale) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    """
        update runs set driver = ?, driver_seen = now()
         where id = (select id from runs
                      where pipeline_version = ? and params = ?::jsonb
                        and status in ('queued', 'running') and driver is not null
                        and (driver = any(?) or driver_seen < now() - ? * interval '1 millisecond')
                      order by id desc limit 1
                      for no key update skip locked)
        returning id""",
                    rs -> rs.getLong(1),
                    driver,
                    version,
                    dev.kiln.engine.store.Json.write(params),
                    deadDrivers.toArray(String[]::new),
                    stale.toMillis()));
  }

  /** Runs whose driver is set and still unfinished, with their driver, to check for dead ones. */
  public Map<Long, String> drivenRuns() {
    Map<Long, String> out = new LinkedHashMap<>();
    db.tx()
        .run(
            c ->
                Sql.query(
                    c,
                    "select id, driver from runs where status in ('queued', 'running') and driver is not null",
                    rs -> out.put(rs.getLong(1), rs.getString(2))));
    return out;
  }

  /**
   * Hands a task back without counting the attempt against its retries: its worker is shutting
   * down. In a cancelled run the task is settled as cancelled instead.
   */
  public boolean release(ClaimedTask t, String why) {
    return db.tx()
        .inTransaction(
            c -> {
              lockRun(c, t.runId());
              var cancel =
                  Sql.one(
                      c,
                      """
          select cancel_requested from tasks
           where id = ? and attempt = ? and worker = ? and status = 'running' for update""",
                      rs -> rs.getBoolean(1),
                      t.id(),
                      t.attempt(),
                      t.worker());
              if (cancel.isEmpty()) {
                return false;
              }
              Sql.update(
                  c,
                  """
          update task_attempts set status = 'lost', finished_at = now(), error = ?
           where task_id = ? and attempt = ?""",
                  why,
                  t.id(),
                  t.attempt());
              if (cancel.get()) {
                writer.settleRunning(
                    c, t.runId(), t.id(), t.stepId(), StepStatus.CANCELLED, "run cancelled");
                advance(c, t.runId());
              } else {
                Sql.update(
                    c, "update tasks set max_attempts = max_attempts + 1 where id = ?", t.id());
                writer.requeue(
                    c, t.runId(), t.id(), t.stepId(), t.attempt(), Duration.ZERO, why, null);
              }
              return true;
            });
  }

  /** What {@link #cancel} found. */
  public enum CancelResult {
    CANCELLED,
    ALREADY_FINISHED,
    NOT_FOUND
  }

  /** Cancels a run: queued steps at once, running ones through their worker (heartbeat). */
  public CancelResult cancel(long runId) {
    return db.tx().inTransaction(c -> cancel(c, runId, "cancel requested"));
  }

  /** {@link #cancel(long)} inside the caller's transaction; {@code why} is recorded on the run. */
  public CancelResult cancel(Connection c, long runId, String why) throws SQLException {
    {
      var status =
          Sql.one(
              c,
              "select status from runs where id = ? for no key update",
              rs -> RunStatus.of(rs.getString(1)),
              runId);
      if (status.isEmpty()) {
        return CancelResult.NOT_FOUND;
      }
      if (status.get().terminal()) {
        return CancelResult.ALREADY_FINISHED;
      }
      Sql.update(
          c, "update runs set status = 'cancelled', finished_at = now() where id = ?", runId);
      PlanWriter.event(c, runId, null, "cancelled", why);
      for (String step :
          Sql.query(
              c,
              """
          update tasks set status = 'cancelled', finished_at = now(), error = 'run cancelled'
           where run_id = ? and status = 'queued' returning step_id""",
              rs -> rs.getString(1),
              runId)) {
        PlanWriter.event(c, runId, step, "cancelled", "run cancelled");
      }
      Sql.update(
          c,
          "update tasks set cancel_requested = true where run_id = ? and status = 'running'",
          runId);
      Sql.query(
          c,
          "select pg_notify('kiln_cancel', ?), pg_notify('kiln_runs', ?)",
          rs -> null,
          String.valueOf(runId),
          runId + " cancelled");
      advance(c, runId);
      return CancelResult.CANCELLED;
    }
  }

  /**
   * A new run of a failed or cancelled run's pipeline version and params that reuses the outputs
   * and artifacts of the steps that succeeded and runs the rest.
   */
  public long retry(long runId) {
    return db.tx()
        .inTransaction(
            c -> {
              var old =
                  Sql.one(
                          c,
                          """
          select r.status, r.params::text, r.trigger, r.base_dir, r.pipeline_version, v.source
            from runs r join pipeline_versions v on v.version = r.pipeline_version
           where r.id = ?""",
                          rs ->
                              new String[] {
                                rs.getString(1),
                                rs.getString(2),
                                rs.getString(3),
                                rs.getString(4),
                                rs.getString(5),
                                rs.getString(6)
                              },
                          runId)
                      .orElseThrow(() -> new RunNotFoundException(runId));
              RunStatus st = RunStatus.of(old[0]);
              if (st != RunStatus.FAILED && st != RunStatus.CANCELLED) {
                throw new IllegalStateException(
                    "run "
                        + runId
                        + " is "
                        + st.db()
                        + "; only a failed or cancelled run can be retried");
              }
              Pipeline p = pipelines.get(old[4], v -> old[5]).pipeline();
              Map<String, Object> params = dev.kiln.engine.store.Json.readMap(old[1]);
              String file =
                  Sql.one(
                          c,
                          "select pipeline_file from runs where id = ?",
                          rs -> rs.getString(1),
                          runId)
                      .orElse(null);
              Pipeline withFile =
                  p.withSource(
                      new dev.kiln.dsl.model.Source(file, p.source().text(), p.source().version()));
              long newId = insertRun(c, withFile, params, "retry", old[3], runId, null);
              // A retry carries on the run it retries: same tags, and --no-cache still holds.
              Sql.update(
                  c,
                  """
          update runs n set tags = o.tags, no_cache = o.no_cache from runs o
           where n.id = ? and o.id = ?""",
                  newId,
                  runId);
              writer.copySucceeded(c, runId, newId);
              advance(c, newId);
              return newId;
            });
  }

  private static final String RUN_ROW =
      """
      select r.status, r.params::text, r.trigger, r.base_dir, r.pipeline_file, r.pipeline_version,
             r.scheduled_at
        from runs r where r.id = ?""";

  private static String[] runRow(java.sql.ResultSet rs) throws SQLException {
    java.time.Instant at = Sql.instant(rs, "scheduled_at");
    return new String[] {
      rs.getString(1),
      rs.getString(2),
      rs.getString(3),
      rs.getString(4),
      rs.getString(5),
      rs.getString(6),
      at == null ? null : at.toString()
    };
  }

  /** Locks the run row and returns what {@link #advance} needs of it. */
  private static String[] lockRun(Connection c, long runId) throws SQLException {
    // NO KEY UPDATE, not UPDATE: inserts that reference the run (events, tasks) take KEY SHARE
    // locks on it and must not wait for, or deadlock with, this one.
    return Sql.one(c, RUN_ROW + " for no key update", RunService::runRow, runId)
        .orElseThrow(() -> new RunNotFoundException(runId));
  }

  /** Plans the run from its current state and applies the plan. The run row must be locked. */
  private void advance(Connection c, long runId) throws SQLException {
    advance(c, runId, Sql.one(c, RUN_ROW, RunService::runRow, runId).orElseThrow(), false);
  }

  /**
   * As above with the run's row already read under the lock (nothing changed it since), and whether
   * this transaction already woke the run's watchers.
   */
  private void advance(Connection c, long runId, String[] run, boolean notified)
      throws SQLException {
    var parsed =
        pipelines.get(
            run[5],
            v -> {
              try {
                return Sql.one(
                        c,
                        "select source from pipeline_versions where version = ?",
                        rs -> rs.getString(1),
                        v)
                    .orElseThrow();
              } catch (SQLException e) {
                throw new StoreException(e);
              }
            });
    // One round trip. Outputs and artifacts matter only while some step is undecided. Once every
    // step has all its tasks, only the run's status can change, and only when none is active: until
    // then the query returns a single empty row and there is nothing to plan, so a wide fan-out
    // does not re-read its tasks on each completion.
    Map<String, StepState> steps = new HashMap<>();
    // Counted in tasks: a matrix step has one per combination once it runs.
    int total = parsed.pipeline().steps().values().stream().mapToInt(Matrix::size).sum();
    boolean[] idle = {false};
    Sql.query(
        c,
        """
        with s as (
          select count(*) as decided,
                 count(*) filter (where status in ('queued', 'running')) as active
            from tasks where run_id = ?)
        select t.step_id, t.status,
               case when s.decided < ? then t.outputs::text end,
               case when s.decided < ? then (select json_object_agg(a.name, a.sha256)
                                               from artifacts a
                                              where a.run_id = t.run_id
                                                and a.step_id = t.step_id)::text
               end
          from s left join tasks t on t.run_id = ? and (s.decided < ? or s.active = 0)""",
        rs -> {
          if (rs.getString(1) == null) {
            idle[0] = true;
            return null;
          }
          Map<String, String> arts = new LinkedHashMap<>();
          dev.kiln.engine.store.Json.readStringMap(rs.getString(4))
              .forEach((name, sha) -> arts.put(name, artifacts.path(sha).toString()));
          steps.put(
              rs.getString(1),
              new StepState(
                  StepStatus.of(rs.getString(2)),
                  dev.kiln.engine.store.Json.readStringMap(rs.getString(3)),
                  arts));
          return null;
        },
        runId,
        total,
        total,
        runId,
        total);
    if (idle[0] && RunStatus.of(run[0]) != RunStatus.QUEUED) {
      // Every step decided and some still active: nothing can start and the run goes on.
      writer.apply(c, runId, new Plan(List.of(), List.of(), null), notified);
      return;
    }
    String file = run[4];
    String pipelineDir =
        file == null ? null : java.nio.file.Path.of(file).toAbsolutePath().getParent().toString();
    RunSnapshot snap =
        new RunSnapshot(
            runId,
            run[2],
            RunStatus.of(run[0]),
            dev.kiln.engine.store.Json.readMap(run[1]),
            steps,
            pipelineDir,
            run[3],
            run[6]);
    Plan plan = Planner.plan(parsed.pipeline(), parsed.dag(), snap);
    writer.apply(c, runId, plan, notified);
  }
}
