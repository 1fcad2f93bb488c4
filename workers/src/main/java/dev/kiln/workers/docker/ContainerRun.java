package dev.kiln.workers.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.WaitContainerCondition;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.task.Completion.Outcome;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;

/**
 * One created container from start to exit, the way {@code docker run} does it: the output stream
 * is attached and the exit waited for before the start, so nothing is missed however fast the
 * command ends. With auto-removal the engine removes the container as it exits and the wait returns
 * only once it is gone; without (a memory limit is set, and only an inspection before removal can
 * tell an out-of-memory kill) the caller inspects and removes it.
 */
final class ContainerRun {
  static final Duration STREAM_READY = Duration.ofSeconds(30);
  static final Duration LOG_DRAIN = Duration.ofSeconds(5);
  static final Duration KILL_GRACE = Duration.ofSeconds(30);

  private final DockerClient c;
  private final String id;
  private final Invocation inv;
  private final boolean autoRemove;
  private volatile boolean gone;

  ContainerRun(DockerClient c, String id, Invocation inv, boolean autoRemove) {
    this.c = c;
    this.id = id;
    this.inv = inv;
    this.autoRemove = autoRemove;
  }

  /** Whether the engine confirmed the container is removed. */
  boolean gone() {
    return gone;
  }

  ExecutionResult run() throws InterruptedException {
    LogLines logs =
        c.attachContainerCmd(id)
            .withStdOut(true)
            .withStdErr(true)
            .withFollowStream(true)
            .withLogs(true)
            .exec(new LogLines(inv.logs()));
    ExitWait wait = null;
    try {
      wait =
          c.waitContainerCmd(id)
              .withCondition(
                  autoRemove ? WaitContainerCondition.REMOVED : WaitContainerCondition.NEXT_EXIT)
              .exec(new ExitWait());
      ready(logs, "output");
      ready(wait, "wait");
      c.startContainerCmd(id).exec();
      inv.cancellation().onCancel(() -> DockerExecutor.kill(c, id));
      Long timeoutMs = inv.task().spec().timeoutMs();
      boolean exited =
          timeoutMs == null ? awaitForever(wait) : wait.awaitDone(Duration.ofMillis(timeoutMs));
      if (!exited && !killed(wait)) {
        throw new IllegalStateException(
            "the container did not stop within " + KILL_GRACE.toSeconds() + "s of being killed");
      }
      // The output stream ends when the container stops; bound the wait in case the engine lags.
      logs.awaitDone(LOG_DRAIN);
      int code = wait.statusCode();
      gone = autoRemove;
      if (!exited) {
        return new ExecutionResult(
            Outcome.TIMED_OUT,
            null,
            "timed out after "
                + Duration.ofMillis(timeoutMs).toString().substring(2).toLowerCase());
      }
      if (inv.cancellation().isCancelled()) {
        return new ExecutionResult(Outcome.CANCELLED, code, inv.cancellation().reason());
      }
      if (!autoRemove) {
        InspectContainerResponse.ContainerState state = c.inspectContainerCmd(id).exec().getState();
        if (Boolean.TRUE.equals(state.getOOMKilled())) {
          return new ExecutionResult(
              Outcome.FAILED,
              code,
              "killed: out of memory (limit "
                  + DockerExecutor.bytes(inv.task().spec().memoryBytes())
                  + ")");
        }
      }
      return ExecutionResult.exited(code);
    } finally {
      close(logs);
      close(wait);
    }
  }

  private boolean killed(ExitWait wait) throws InterruptedException {
    DockerExecutor.kill(c, id);
    return wait.awaitDone(KILL_GRACE);
  }

  /** Until the engine answered the request (it then has the stream or the waiter in place). */
  private static void ready(EngineStream<?> stream, String what) throws InterruptedException {
    if (!stream.awaitReady(STREAM_READY)) {
      throw new IllegalStateException(
          "the Docker engine did not open the "
              + what
              + " stream within "
              + STREAM_READY.toSeconds()
              + "s");
    }
  }

  private static boolean awaitForever(ExitWait wait) throws InterruptedException {
    wait.awaitDone();
    return true;
  }

  private void close(Closeable stream) {
    if (stream == null) {
      return;
    }
    try {
      stream.close();
    } catch (IOException e) {
      inv.logs().line("system", "closing a container stream: " + e.getMessage());
    }
  }
}
