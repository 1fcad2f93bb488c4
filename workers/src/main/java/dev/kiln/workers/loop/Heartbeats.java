package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.LeaseSession;
import dev.kiln.engine.util.DaemonThreads;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leases of a worker's claimed tasks: renews each on a schedule, and stops a step whose lease
 * is lost, whose run is cancelled, or that could not be renewed for most of the lease.
 */
final class Heartbeats {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  private final WorkerRuntime.Options options;

  /** Heartbeats only, on their own thread and connection: log writes cannot delay them. */
  private final ScheduledExecutorService beats;

  private final LeaseSession leaseSession;

  Heartbeats(Engine engine, WorkerRuntime.Options options) {
    this.options = options;
    this.beats = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("kiln-heartbeat"));
    this.leaseSession = new LeaseSession(engine.db(), heartbeatEvery().dividedBy(2));
  }

  /** Starts renewing the lease of a task just claimed. */
  void start(Active a) {
    long every = heartbeatEvery().toMillis();
    a.heartbeat =
        beats.scheduleWithFixedDelay(() -> heartbeat(a), every, every, TimeUnit.MILLISECONDS);
  }

  /** Renews now, off the schedule: the run may have been cancelled. */
  void now(Active a) {
    beats.execute(() -> heartbeat(a));
  }

  private Duration heartbeatEvery() {
    return Duration.ofMillis(Math.max(200, options.lease().toMillis() / 3));
  }

  /**
   * Renews the lease of a running task, and keeps renewing it while the task's result waits to be
   * recorded. When no renewal got through for two thirds of the lease the store cannot be reached:
   * the step is stopped here, before its lease runs out and another worker may start it again.
   */
  private void heartbeat(Active a) {
    long silent = System.nanoTime() - a.renewedAt;
    long giveUp = options.lease().toNanos() - heartbeatEvery().toNanos();
    if (!a.finished && !a.cancel().isCancelled() && silent >= giveUp) {
      log.warn(
          "no heartbeat of {} (run {}) got through for {} ms; stopping it",
          a.task().stepId(),
          a.task().runId(),
          silent / 1_000_000);
      cancelAsync(a, Worker.LEASE_EXPIRED);
    }
    if (Worker.LEASE_EXPIRED.equals(a.cancel().reason())) {
      return; // the attempt is given up; renewing its lease now would only delay its retry
    }
    long before = System.nanoTime();
    try {
      var r = leaseSession.heartbeat(a.task(), options.lease());
      if (r.isEmpty()) {
        Metrics.get().leaseLost();
        cancelAsync(a, "lease lost: the task was taken over or settled elsewhere");
      } else {
        a.renewedAt = before;
        if (r.get()) {
          cancelAsync(a, "run cancelled");
        }
      }
    } catch (RuntimeException e) {
      log.warn("heartbeat of {} failed: {}", a.task().stepId(), e.getMessage());
    }
  }

  /** Cancels off the heartbeat thread: killing a process tree waits up to its grace period. */
  private void cancelAsync(Active a, String why) {
    if (a.finished || a.cancel().isCancelled()) {
      return;
    }
    DaemonThreads.start("kiln-cancel-" + a.task().id(), () -> a.cancel().cancel(why));
  }

  void close() {
    beats.shutdownNow();
    leaseSession.close();
  }
}
