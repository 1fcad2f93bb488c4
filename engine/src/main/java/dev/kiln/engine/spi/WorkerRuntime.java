package dev.kiln.engine.spi;

import dev.kiln.engine.Engine;
import java.time.Duration;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Starts workers that claim and run tasks. The engine finds the implementation (in the workers
 * module) through {@link java.util.ServiceLoader}, so it never imports a worker class.
 */
public interface WorkerRuntime {

  /**
   * @param name worker identity written on claimed tasks (host:pid:n)
   * @param queues the pools it serves
   * @param slots how many tasks it runs at once
   * @param lease how long a claim holds without a heartbeat
   * @param forceExecutor run every step with this executor ("process"), or null to choose per step
   * @param onlyRun claim only tasks of this run ({@code kiln run}), or null to serve the whole
   *     queue (a server, {@code kiln worker}, {@code kiln run --serve-queue})
   */
  record Options(
      String name,
      List<String> queues,
      int slots,
      Duration lease,
      String forceExecutor,
      Long onlyRun) {
    /** A worker serving the whole queue. */
    public Options(
        String name, List<String> queues, int slots, Duration lease, String forceExecutor) {
      this(name, queues, slots, lease, forceExecutor, null);
    }
  }

  /** A running worker. */
  interface Handle extends AutoCloseable {
    /** From now on claims tasks of these queues (a server hosting a pipeline with a new queue). */
    void serve(List<String> queues);

    /** Stops claiming, lets running tasks finish (up to the grace period), then returns. */
    void drain(Duration grace) throws InterruptedException;

    /** Stops at once: running tasks are cancelled and handed back for another worker. */
    @Override
    void close();
  }

  Handle start(Engine engine, Options options);

  static WorkerRuntime load() {
    return ServiceLoader.load(WorkerRuntime.class)
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "no worker runtime on the class path (the kiln-workers module is missing)"));
  }
}
