package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.StoreException;
import dev.kiln.engine.task.Completion;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Settles an attempt's end in the store once its step has ended. */
final class ResultRecorder {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  /** Longest wait between two tries to record a result while the store is unreachable. */
  private static final long MAX_RECORD_BACKOFF_MS = 5_000;

  static final Duration SIGNAL_WAIT = Duration.ofSeconds(2);

  private final Engine engine;
  private final WorkerRuntime.Options options;

  /** Whether the worker has stopped: then a result the store cannot take now is given up. */
  private final BooleanSupplier stopped;

  ResultRecorder(Engine engine, WorkerRuntime.Options options, BooleanSupplier stopped) {
    this.engine = engine;
    this.options = options;
    this.stopped = stopped;
  }

  /**
   * Records the attempt's end, retrying with backoff while the store is unreachable: the result is
   * kept (and the lease renewed) until the store takes it or refuses it because the attempt is no
   * longer the task's (fenced out). A step stopped because the worker shuts down, or because its
   * lease could not be renewed, is handed back rather than settled. Returns the tasks {@code next}
   * claimed in the transaction that recorded the result (none when it was handed back or not
   * recorded).
   */
  List<ClaimedTask> record(
      Active a, Completion completion, Duration took, RunService.NextClaim next) {
    Completion result = a.logs().masker().completion(completion);
    ClaimedTask t = a.task();
    String reason = a.cancel().reason();
    long backoff = 100;
    boolean permanentSeen = false;
    while (true) {
      try {
        if (Worker.STOPPING.equals(reason) || Worker.LEASE_EXPIRED.equals(reason)) {
          engine
              .leases()
              .release(
                  t,
                  Worker.STOPPING.equals(reason)
                      ? "worker " + options.name() + " stopped"
                      : reason);
          return List.of();
        }
        return engine.runs().complete(t, result, took, next).claimed();
      } catch (StoreException e) {
        if (!e.isTransient() && !permanentSeen) {
          // The store refused this result (bad data that slipped through): record a failure in
          // its place, which the store can hold, rather than retrying the same write forever.
          log.error("the store refused the result of {} (run {})", t.stepId(), t.runId(), e);
          permanentSeen = true;
          result =
              a.logs()
                  .masker()
                  .completion(
                      Completion.failed("the result could not be recorded: " + e.getMessage()));
          continue;
        }
        if (!e.isTransient()) {
          log.error(
              "the result of {} (run {}) cannot be recorded; the task is retried when its lease expires",
              t.stepId(),
              t.runId(),
              e);
          return List.of();
        }
        if (stopped.getAsBoolean()) {
          log.error(
              "result of {} (run {}) not recorded, the worker stopped: {}; the task is retried when"
                  + " its lease expires",
              t.stepId(),
              t.runId(),
              e.getMessage());
          return List.of();
        }
        log.warn(
            "could not record the result of {} (run {}): {}; retrying in {} ms",
            t.stepId(),
            t.runId(),
            e.getMessage(),
            backoff);
        try {
          Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return List.of();
        }
        backoff = Math.min(backoff * 2, MAX_RECORD_BACKOFF_MS);
      }
    }
  }

  /**
   * Ctrl-C in a terminal signals the whole process group: a {@code kiln run}'s steps die of the
   * SIGINT (exit 130, or 143 for SIGTERM) as its JVM starts cancelling the run. Such a failure is
   * held for up to {@link #SIGNAL_WAIT} to see whether the run is being cancelled, so the step ends
   * {@code cancelled} rather than {@code failed}, whichever of the two the signal reached first.
   */
  Completion cancelledBySignal(Active a, Completion result) {
    if (options.onlyRun() == null
        || result.outcome() != Completion.Outcome.FAILED
        || result.exitCode() == null
        || (result.exitCode() != 130 && result.exitCode() != 143)) {
      return result;
    }
    long deadline = System.nanoTime() + SIGNAL_WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        Optional<Boolean> cancel = engine.queue().heartbeat(a.task(), options.lease());
        if (cancel.isEmpty() || cancel.get()) {
          return cancel.isEmpty() ? result : Completion.cancelled("run cancelled");
        }
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return result;
      } catch (RuntimeException e) {
        return result;
      }
    }
    return result;
  }
}
