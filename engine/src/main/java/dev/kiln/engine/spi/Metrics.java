package dev.kiln.engine.spi;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * What the life cycle tells a metrics registry, so that the run service, the worker loop and the
 * triggers report events without importing one. {@code kiln server} installs its Micrometer
 * registry ({@code dev.kiln.engine.server.ServerMetrics}); every other process keeps the no-op
 * {@link #NONE}. Labels are bounded: pipeline and step names, statuses, queues; never run ids.
 * Calls must be cheap and never throw: they happen on the run's critical path.
 */
public interface Metrics {
  Metrics NONE = new Metrics() {};

  /** A run was created ({@code trigger}: cli, api, cron, webhook, files, backfill, retry...). */
  default void runStarted(String pipeline, String trigger) {}

  /** A run reached a final status (succeeded, failed, cancelled). */
  default void runFinished(String pipeline, String status) {}

  /** A step's attempt ended, as its worker timed it from claim to result. */
  default void stepFinished(String pipeline, String step, String status, Duration took) {}

  /** A worker's heartbeat found its lease gone (another worker reaped or took the task). */
  default void leaseLost() {}

  /** Tasks whose lease expired (or whose worker died) were reaped for another attempt. */
  default void reaped(int tasks) {}

  /** A trigger fired: {@code outcome} started, duplicate, skipped or refused. */
  default void triggerFired(String pipeline, String kind, String outcome) {}

  /** A webhook request was answered with this HTTP status. */
  default void webhookAnswered(int status) {}

  /** A cron firing started this late after the time it was scheduled for. */
  default void cronLateness(String pipeline, Duration late) {}

  /** An alert (notification) was sent; {@code outcome} ok or failed. */
  default void alertSent(String channel, String outcome) {}

  /** A worker's slots, read when metrics are scraped. */
  default void workerSlots(String worker, IntSupplier busy, int total) {}

  /** The installed metrics of this process ({@link #NONE} unless a server installed its own). */
  static Metrics get() {
    return Holder.current;
  }

  /** Installs this process's metrics (the server, once at start); null restores {@link #NONE}. */
  static void install(Metrics m) {
    Holder.current = m == null ? NONE : m;
  }

  /** The step id of a task name: a matrix task {@code step[k=v]} counts under its step. */
  static String stepOf(String task) {
    int b = task.indexOf('[');
    return b < 0 ? task : task.substring(0, b);
  }

  final class Holder {
    private static volatile Metrics current = NONE;

    private Holder() {}
  }
}
