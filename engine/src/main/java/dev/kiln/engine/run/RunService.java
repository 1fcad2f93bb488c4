package dev.kiln.engine.run;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Source;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.run.Retries.Decision;
import dev.kiln.engine.run.RunSnapshot.StepState;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.store.Attempts;
import dev.kiln.engine.store.Attempts.Held;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Runs;
import dev.kiln.engine.store.Runs.RunRow;
import dev.kiln.engine.store.StoreException;
import dev.kiln.engine.store.TaskQueue;
import dev.kiln.engine.store.Tasks;
import dev.kiln.engine.store.Tasks.PlanningState;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunNotFoundException;
import dev.kiln.engine.task.RunStatus;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every change to a run's life cycle but its leases ({@link Leases}): create, complete, cancel,
 * retry. Each runs in one transaction that locks the run row first (so two completions in one run
 * plan one after the other) and then applies what {@link Planner} decides.
 */
public final class RunService {
  private static final Logger log = LoggerFactory.getLogger(RunService.class);

  private final Database db;
  private final ArtifactStore artifacts;
  private final PipelineCache pipelines = new PipelineCache();

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
          Runs.setDriver(c, runId, driver, tags);
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
    Runs.bypassCache(c, runId);
  }

  /** {@link #bypassCache(Connection, long)} in its own transaction (a continued run). */
  public void bypassCache(long runId) {
    db.tx().run(c -> Runs.bypassCache(c, runId));
  }

  /** A stored pipeline version, parsed (once per version and process). */
  public Pipeline pipeline(String version) {
    return pipelines
        .get(
            version,
            v ->
                db.tx()
                    .inTransaction(c -> Runs.pipelineSource(c, v))
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
              Runs.NewRun run = Runs.insert(c, p, params, trigger, baseDir, null, null);
              setup.apply(c, run.id());
              advanceNew(c, run);
              Metrics.get().runStarted(p.name(), trigger);
              return run.id();
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
      Instant scheduledAt)
      throws SQLException {
    pipelines.put(p);
    Runs.NewRun run = Runs.insert(c, p, params, trigger, baseDir, null, scheduledAt);
    advanceNew(c, run);
    Metrics.get().runStarted(p.name(), trigger);
    return run.id();
  }

  /**
   * Records the end of an attempt. Returns false, changing nothing, when the attempt is no longer
   * the task's current one (its lease expired and another worker took it, or it was settled).
   */
  public boolean complete(ClaimedTask t, Completion result) {
    return complete(t, result, null);
  }

  /** As above; {@code took} (the attempt's time from claim to result, or null) feeds /metrics. */
  public boolean complete(ClaimedTask t, Completion result, Duration took) {
    return complete(t, result, took, NextClaim.NONE).recorded();
  }

  /**
   * What a worker claims in the transaction that records its result, for slots it has reserved: the
   * steps the result made ready start without another round trip and commit.
   */
  public record NextClaim(String worker, TaskQueue.Claimable what, int limit, Duration lease) {
    public static final NextClaim NONE =
        new NextClaim("", new TaskQueue.Claimable(List.of(), null, null), 0, Duration.ZERO);

    /**
     * Whether this claim can take every one of the plan's new tasks of run {@code runId} (by queue
     * and run; one it still leaves, e.g. for want of an executor, is announced after the claim).
     */
    boolean covers(long runId, List<Plan.Start> start) {
      return start.size() <= limit
          && (what.onlyRun() == null || what.onlyRun() == runId)
          && start.stream().allMatch(s -> what.queues().contains(s.queue()));
    }
  }

  /** What {@link #complete(ClaimedTask, Completion, Duration, NextClaim)} did. */
  public record Completed(boolean recorded, List<ClaimedTask> claimed) {}

  /**
   * As above, and claims up to {@code next.limit()} ready tasks in the same transaction (also when
   * the result was refused: the slots are free either way).
   */
  public Completed complete(ClaimedTask t, Completion result, Duration took, NextClaim next) {
    return db.tx()
        .inTransaction(
            c -> {
              Recorded recorded = record(c, t, result, took, next);
              List<ClaimedTask> claimed =
                  TaskQueue.claim(c, next.worker(), next.what(), next.limit(), next.lease());
              // The steps the result made ready were not announced to the workers (no wake-up,
              // no claim that finds nothing): those this claim did not take are announced now.
              if (!recorded.unannounced().isEmpty()
                  && !claimed.stream()
                      .map(ClaimedTask::id)
                      .toList()
                      .containsAll(recorded.unannounced())) {
                Tasks.announce(c);
              }
              return new Completed(recorded.recorded(), claimed);
            });
  }

  /** Whether a result was recorded, and the tasks it queued that no worker was woken for. */
  private record Recorded(boolean recorded, List<Long> unannounced) {
    static final Recorded REFUSED = new Recorded(false, List.of());
    static final Recorded ANNOUNCED = new Recorded(true, List.of());
  }

  private Recorded record(
      Connection c, ClaimedTask t, Completion result, Duration took, NextClaim next)
      throws SQLException {
    boolean failed =
        result.outcome() == Completion.Outcome.FAILED
            || result.outcome() == Completion.Outcome.TIMED_OUT
            || result.outcome() == Completion.Outcome.INVALID;
    RunRow run;
    if (!failed) {
      // The run's lock and the result in one statement: one round trip fewer on every step.
      Optional<RunRow> locked = PlanWriter.lockRunAndFinishTask(c, t, result);
      if (locked.isEmpty()) {
        return refused(t);
      }
      run = locked.get();
      stepFinished(t, result, took, run);
    } else {
      run = Runs.lock(c, t.runId());
      stepFinished(t, result, took, run);
      Optional<Held> held = Attempts.lockHeld(c, t);
      if (held.isEmpty()) {
        return refused(t);
      }
      Held h = held.get();
      Decision d =
          Retries.decide(
              result.outcome() == Completion.Outcome.INVALID
                  ? Retries.End.INVALID
                  : Retries.End.FAILED,
              new Retries.State(h.attempt(), h.maxAttempts(), h.backoff(), h.cancelRequested(), 0));
      if (d instanceof Decision.Requeue r) {
        Attempts.fail(c, t.id(), t.attempt(), result.exitCode(), result.error());
        Tasks.requeue(
            c,
            t.runId(),
            t.id(),
            t.stepId(),
            r.delay(),
            result.error(),
            result.exitCode(),
            Retries.retryingDetail(t.attempt(), result.error(), r.delay()));
        return Recorded.ANNOUNCED;
      }
      // A failure the retries do not take: settling is itself the compare-and-set on (id,
      // attempt, worker, running).
      if (!PlanWriter.finishTask(c, t, result)) {
        return refused(t);
      }
    }
    return new Recorded(true, advance(c, t.runId(), run, true, next, null).unannounced());
  }

  private void stepFinished(ClaimedTask t, Completion result, Duration took, RunRow run) {
    if (took != null && Metrics.get() != Metrics.NONE) {
      Metrics.get()
          .stepFinished(
              pipeline(run.pipelineVersion()).name(),
              Metrics.stepOf(t.stepId()),
              result.outcome().name().toLowerCase(Locale.ROOT),
              took);
    }
  }

  private static Recorded refused(ClaimedTask t) {
    log.warn(
        "refused the result of {} attempt {} from {}: the task is no longer theirs",
        t.stepId(),
        t.attempt(),
        t.worker());
    return Recorded.REFUSED;
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
    Optional<RunStatus> status = Runs.lockStatus(c, runId);
    if (status.isEmpty()) {
      return CancelResult.NOT_FOUND;
    }
    if (status.get().terminal()) {
      return CancelResult.ALREADY_FINISHED;
    }
    Runs.markCancelled(c, runId, why);
    Tasks.cancelRun(c, runId);
    Runs.notifyCancelled(c, runId);
    String pipeline =
        advance(c, runId, Runs.read(c, runId), false, NextClaim.NONE, null).pipeline();
    Metrics.get().runFinished(pipeline, RunStatus.CANCELLED.db());
    return CancelResult.CANCELLED;
  }

  /**
   * A new run of a failed or cancelled run's pipeline version and params that reuses the outputs
   * and artifacts of the steps that succeeded and runs the rest.
   */
  public long retry(long runId) {
    return db.tx()
        .inTransaction(
            c -> {
              Runs.RetrySource old =
                  Runs.retrySource(c, runId).orElseThrow(() -> new RunNotFoundException(runId));
              RunStatus st = old.status();
              if (st != RunStatus.FAILED && st != RunStatus.CANCELLED) {
                throw new IllegalStateException(
                    "run "
                        + runId
                        + " is "
                        + st.db()
                        + "; only a failed or cancelled run can be retried");
              }
              Pipeline p = pipelines.get(old.pipelineVersion(), v -> old.source()).pipeline();
              Pipeline withFile =
                  p.withSource(
                      new Source(old.pipelineFile(), p.source().text(), p.source().version()));
              long newId =
                  Runs.insert(c, withFile, old.params(), "retry", old.baseDir(), runId, null).id();
              Runs.inherit(c, newId, runId);
              Tasks.copySucceeded(c, runId, newId);
              advance(c, newId);
              Metrics.get().runStarted(p.name(), "retry");
              return newId;
            });
  }

  /** Plans the run from its current state and applies the plan. The run row must be locked. */
  void advance(Connection c, long runId) throws SQLException {
    advance(c, runId, Runs.read(c, runId), false, NextClaim.NONE, null);
  }

  /**
   * Plans a run just inserted in this transaction: its row is the insert's and it has no tasks yet
   * (a setup adds none), so neither is read again.
   */
  private void advanceNew(Connection c, Runs.NewRun run) throws SQLException {
    advance(c, run.id(), run.row(), false, NextClaim.NONE, NO_TASKS);
  }

  private static final PlanningState NO_TASKS = new PlanningState(false, List.of());

  /** What {@link #advance} did: the pipeline's name, the tasks queued and not announced. */
  private record Advanced(String pipeline, List<Long> unannounced) {}

  /**
   * As above with the run's row already read under the lock (nothing changed it since). Tasks that
   * {@code next} (claimed in this transaction) can all take are queued without waking the workers.
   * {@code known}: the run's tasks when the caller knows them (a new run has none), else null.
   */
  private Advanced advance(
      Connection c, long runId, RunRow run, boolean notified, NextClaim next, PlanningState known)
      throws SQLException {
    var parsed =
        pipelines.get(
            run.pipelineVersion(),
            v -> {
              try {
                return Runs.pipelineSource(c, v).orElseThrow();
              } catch (SQLException e) {
                throw new StoreException(e);
              }
            });
    // Counted in tasks: a matrix step has one per combination once it runs.
    int total = parsed.pipeline().steps().values().stream().mapToInt(MatrixTasks::size).sum();
    PlanningState state = known != null ? known : Tasks.forPlanning(c, runId, total);
    if (state.idle() && run.status() != RunStatus.QUEUED) {
      // Every step decided and some still active: nothing can start and the run goes on.
      PlanWriter.apply(c, runId, new Plan(List.of(), List.of(), null), notified, true);
      return new Advanced(parsed.pipeline().name(), List.of());
    }
    Map<String, StepState> steps = new HashMap<>();
    for (Tasks.TaskState t : state.tasks()) {
      Map<String, String> arts = new LinkedHashMap<>();
      t.artifacts().forEach((name, sha) -> arts.put(name, artifacts.path(sha).toString()));
      steps.put(t.stepId(), new StepState(t.status(), t.outputs(), arts));
    }
    String file = run.pipelineFile();
    String pipelineDir =
        file == null ? null : Path.of(file).toAbsolutePath().getParent().toString();
    Instant at = run.scheduledAt();
    RunSnapshot snap =
        new RunSnapshot(
            runId,
            run.trigger(),
            run.status(),
            run.params(),
            steps,
            pipelineDir,
            run.baseDir(),
            at == null ? null : at.toString());
    Plan plan = Planner.plan(parsed.pipeline(), parsed.dag(), snap);
    boolean selfClaimed = next.covers(runId, plan.start());
    List<Long> queued = PlanWriter.apply(c, runId, plan, notified, !selfClaimed);
    if (plan.runStatus() != null
        && plan.runStatus().terminal()
        && run.status() != plan.runStatus()) {
      Metrics.get().runFinished(parsed.pipeline().name(), plan.runStatus().db());
    }
    return new Advanced(parsed.pipeline().name(), selfClaimed ? queued : List.of());
  }
}
