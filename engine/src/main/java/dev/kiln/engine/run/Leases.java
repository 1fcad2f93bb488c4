package dev.kiln.engine.run;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.run.Retries.Decision;
import dev.kiln.engine.run.Retries.End;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.store.Attempts;
import dev.kiln.engine.store.Attempts.Expired;
import dev.kiln.engine.store.Attempts.Held;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Runs;
import dev.kiln.engine.store.Tasks;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The leases on a run's work: tasks whose worker stopped renewing its lease (reaped), tasks a
 * shutting-down worker hands back (released), and the kiln run process that drives a run (its
 * heartbeat and the take-over of a run whose driver died). Each change locks the run row first, as
 * {@link RunService} does, and asks {@link Retries} what becomes of the task.
 */
public final class Leases {
  /** A run's driver silent for this long is presumed dead (it heartbeats every 3 s). */
  public static final Duration DRIVER_STALE = Duration.ofSeconds(15);

  private final Database db;
  private final RunService runs;

  public Leases(Database db, RunService runs) {
    this.db = db;
    this.runs = runs;
  }

  /** A task taken from a worker that stopped renewing its lease (or is known to be dead). */
  public record Reaped(long taskId, int attempt, String worker) {}

  /**
   * Requeues or fails tasks whose worker stopped renewing its lease, or is one of {@code
   * deadWorkers} (a worker known to have died, whose lease need not be waited out). Any engine or
   * worker process may call this; the compare-and-set on the lease makes it safe to race.
   */
  public List<Reaped> reapLostTasks(Collection<String> deadWorkers) {
    String[] dead = deadWorkers.toArray(String[]::new);
    List<Expired> expired = db.tx().inTransaction(c -> Attempts.expired(c, dead));
    List<Reaped> reaped = new ArrayList<>();
    for (Expired e : expired) {
      db.tx()
          .run(
              c -> {
                Runs.lock(c, e.runId());
                Optional<Held> held = Attempts.lockExpired(c, e, dead);
                if (held.isPresent()) {
                  Held h = held.get();
                  endLost(c, h, End.LOST, "worker " + h.worker() + " stopped renewing its lease");
                  reaped.add(new Reaped(h.id(), h.attempt(), h.worker()));
                }
              });
    }
    if (!reaped.isEmpty()) {
      Metrics.get().reaped(reaped.size());
    }
    return reaped;
  }

  /** {@link #reapLostTasks} for expired leases only. */
  public int reapExpiredLeases() {
    return reapLostTasks(List.of()).size();
  }

  /**
   * Hands a task back without counting the attempt against its retries: its worker is shutting
   * down. In a cancelled run the task is settled as cancelled instead.
   */
  public boolean release(ClaimedTask t, String why) {
    return db.tx()
        .inTransaction(
            c -> {
              Runs.lock(c, t.runId());
              Optional<Held> held = Attempts.lockHeld(c, t);
              if (held.isEmpty()) {
                return false;
              }
              endLost(c, held.get(), End.RELEASED, why);
              return true;
            });
  }

  /** An attempt that ended without a result of its own: recorded as lost, then decided. */
  private void endLost(Connection c, Held h, End end, String why) throws SQLException {
    Attempts.lose(c, h.id(), h.attempt(), why);
    int lost = end == End.LOST ? Attempts.lostCount(c, h.id()) : 0;
    Decision d =
        Retries.decide(
            end,
            new Retries.State(
                h.attempt(), h.maxAttempts(), h.backoff(), h.cancelRequested(), lost));
    if (d instanceof Decision.Requeue r) {
      if (r.refund()) {
        Attempts.refund(c, h.id());
      }
      Tasks.requeue(
          c,
          h.runId(),
          h.id(),
          h.stepId(),
          r.delay(),
          why,
          null,
          Retries.retryingDetail(h.attempt(), why, r.delay()));
    } else if (d instanceof Decision.Settle s) {
      String note =
          end == End.RELEASED ? s.note() : s.note() == null ? why : why + " (" + s.note() + ")";
      Tasks.settleRunning(c, h.runId(), h.id(), h.stepId(), s.status(), note);
      runs.advance(c, h.runId());
    }
  }

  /** Workers that hold running tasks now. */
  public List<String> busyWorkers() {
    return db.tx().inTransaction(Attempts::busyWorkers);
  }

  /** Records that {@code driver} (a kiln run process) still drives the run. */
  public boolean touchDriver(long runId, String driver) {
    return db.tx().inTransaction(c -> Runs.touchDriver(c, runId, driver));
  }

  /**
   * An unfinished run of this pipeline version with these params whose driver is gone: one of
   * {@code deadDrivers}, or silent for longer than {@code stale}. Taken over by {@code driver} in
   * the same statement, so two processes cannot both continue it.
   */
  public Optional<Long> takeOverAbandoned(
      Pipeline pipeline,
      Map<String, Object> params,
      String driver,
      Collection<String> deadDrivers,
      Duration stale) {
    return db.tx()
        .inTransaction(c -> Runs.takeOver(c, pipeline, params, driver, deadDrivers, stale));
  }

  /**
   * Runs whose driver is gone ({@code deadDrivers}, or silent for longer than {@code stale}) go on
   * without one: the caller (a server or worker serving the whole queue) runs their steps.
   */
  public List<Long> adoptAbandoned(Collection<String> deadDrivers, Duration stale, String by) {
    return db.tx().inTransaction(c -> Runs.adoptAbandoned(c, deadDrivers, stale, by));
  }

  /** Unfinished runs whose driver is gone, which nothing continues yet. */
  public List<Runs.Abandoned> abandoned(Collection<String> deadDrivers, Duration stale) {
    return db.tx().inTransaction(c -> Runs.abandoned(c, deadDrivers, stale));
  }

  /**
   * {@code kiln run --continue}: {@code driver} drives the run from now on, unless its driver is
   * alive. Empty when there is no such run; else the live driver in the way, or "" when taken.
   */
  public Optional<String> continueRun(
      long runId, String driver, Collection<String> deadDrivers, Duration stale) {
    return db.tx().inTransaction(c -> Runs.continueRun(c, runId, driver, deadDrivers, stale));
  }

  /** Runs whose driver is set and still unfinished, with their driver, to check for dead ones. */
  public Map<Long, String> drivenRuns() {
    return db.tx().inTransaction(Runs::driven);
  }
}
