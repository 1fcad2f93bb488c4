package dev.kiln.workers.docker;

import com.github.dockerjava.api.async.ResultCallback;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A streamed answer from the Docker engine with waits that have no side effects: docker-java's own
 * timed {@code awaitCompletion} closes the stream when it times out, and its error path logs a
 * stack trace; here an error is kept for the step's message instead.
 */
abstract class EngineStream<T> extends ResultCallback.Adapter<T> {
  private final CountDownLatch started = new CountDownLatch(1);
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile Throwable error;
  private volatile boolean closing;

  @Override
  public void onStart(Closeable stream) {
    super.onStart(stream);
    started.countDown();
  }

  @Override
  public void onComplete() {
    ended();
    done.countDown();
    closeQuietly();
  }

  @Override
  public void onError(Throwable t) {
    if (!closing) {
      // An error after we closed the stream is only the closing itself.
      error = t;
    }
    ended();
    done.countDown();
    closeQuietly();
  }

  @Override
  public void close() throws IOException {
    closing = true;
    done.countDown();
    super.close();
  }

  /** Called once the stream ended, normally or not, before waiters are released. */
  void ended() {}

  Throwable error() {
    return error;
  }

  /**
   * True once the engine answered the request (for a wait: the waiter is in place) or the stream
   * already ended; false when neither happened within {@code within}.
   */
  boolean awaitReady(Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!started.await(20, TimeUnit.MILLISECONDS)) {
      if (done.getCount() == 0) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
    }
    return true;
  }

  /** True once the stream ended; the stream stays open when time runs out. */
  boolean awaitDone(Duration within) throws InterruptedException {
    return done.await(within.toNanos(), TimeUnit.NANOSECONDS);
  }

  void awaitDone() throws InterruptedException {
    done.await();
  }

  private void closeQuietly() {
    try {
      close();
    } catch (IOException | RuntimeException e) {
      // The stream has ended; a failure to release its connection loses nothing we report.
    }
  }
}
