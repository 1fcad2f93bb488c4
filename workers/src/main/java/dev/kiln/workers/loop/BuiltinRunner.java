package dev.kiln.workers.loop;

import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.util.DaemonThreads;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs built-in steps on threads of their own. */
final class BuiltinRunner {
  /** Built-in steps run here, so a timeout or cancel can interrupt (and if need be abandon) one. */
  private static final ExecutorService BUILTINS =
      Executors.newCachedThreadPool(DaemonThreads.named("kiln-builtin"));

  private BuiltinRunner() {}

  /**
   * Runs a built-in on a thread of its own, so {@code timeout:} and cancel apply to it as to a
   * command: at the deadline or on cancel the thread is interrupted and, if it does not stop,
   * abandoned. An {@link Error} it throws (out of memory, stack overflow) fails the step; the
   * worker goes on.
   */
  static Completion run(BuiltinStep b, BuiltinStep.Context context, Cancellation cancel)
      throws InterruptedException {
    String name = b.name();
    Future<Completion> f = BUILTINS.submit(() -> b.run(context));
    cancel.onCancel(() -> f.cancel(true));
    Long timeoutMs = context.task().spec().timeoutMs();
    try {
      return timeoutMs == null ? f.get() : f.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      return new Completion(
          Completion.Outcome.TIMED_OUT,
          null,
          name
              + ": timed out after "
              + Duration.ofMillis(timeoutMs).toString().substring(2).toLowerCase(),
          Map.of(),
          List.of(),
          List.of());
    } catch (CancellationException e) {
      return Completion.cancelled(cancel.reason());
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cancel.isCancelled()) {
        return Completion.cancelled(cancel.reason());
      }
      if (cause instanceof OutOfMemoryError) {
        return Completion.failed(name + ": out of memory (" + cause.getMessage() + ")");
      }
      if (cause instanceof StackOverflowError) {
        return Completion.failed(name + ": stack overflow (recursion too deep)");
      }
      if (cause instanceof Error) {
        return Completion.failed(name + ": " + cause);
      }
      if (DiskSpace.isDiskFull(cause)) {
        return Completion.failed(name + ": disk full: " + cause.getMessage());
      }
      return Completion.failed(name + ": " + cause.getMessage());
    }
  }
}
