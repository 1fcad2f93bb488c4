package dev.kiln.workers.loop;

import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.store.ClaimedTask;
import java.util.concurrent.ScheduledFuture;

/** A claimed task on this worker, from claim until its result is recorded. */
final class Active {
  final ClaimedTask task;
  final Cancellation cancel;
  final LogBuffer logs;
  volatile ScheduledFuture<?> heartbeat;

  /** System.nanoTime() before the last heartbeat the store took (or the claim). */
  volatile long renewedAt = System.nanoTime();

  /** The step has ended; its result waits to be recorded. */
  volatile boolean finished;

  Active(ClaimedTask task, Cancellation cancel, LogBuffer logs) {
    this.task = task;
    this.cancel = cancel;
    this.logs = logs;
  }

  ClaimedTask task() {
    return task;
  }

  Cancellation cancel() {
    return cancel;
  }

  LogBuffer logs() {
    return logs;
  }
}
