package dev.kiln.engine.spi;

import dev.kiln.engine.task.TaskSpec;

/**
 * Runs a {@code run:} step somewhere (a local process, a container, a cluster job). Found through
 * {@link java.util.ServiceLoader} by {@link #name()}; implementations live in the workers module.
 * The worker around it prepares the work folder and collects outputs, metrics and artifacts: an
 * executor only runs the command and streams what it prints.
 */
public interface Executor {
  /** The short name steps and the CLI use: "process", "docker". */
  String name();

  /** Whether this executor can run here at all (e.g. a Docker engine is reachable). */
  default boolean available() {
    return true;
  }

  /**
   * The id of the image the step would run in, as this executor has it (a content hash, not a tag),
   * for the step's cache key; null when the executor runs no image or cannot have it now (then the
   * step is not cached and {@link #execute} reports why it cannot run).
   */
  default String imageId(TaskSpec spec, LogSink logs) throws InterruptedException {
    return null;
  }

  /**
   * Runs the command to its end, its timeout, or cancellation, and says how it ended. Never returns
   * before every process or container it started is gone.
   */
  ExecutionResult execute(Invocation invocation) throws InterruptedException;
}
