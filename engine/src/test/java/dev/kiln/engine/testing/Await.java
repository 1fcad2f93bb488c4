package dev.kiln.engine.testing;

import java.time.Duration;

/** Waiting for a condition in tests: polled every 10 ms until a deadline, never a bare sleep. */
public final class Await {
  private Await() {}

  /** A condition that may read files or the database. */
  @FunctionalInterface
  public interface Check {
    boolean ok() throws Exception;
  }

  /** Returns once {@code check} holds; fails naming {@code what} after {@code within}. */
  public static void until(String what, Duration within, Check check) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (!check.ok()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + within + " waiting for " + what);
      }
      Thread.sleep(10);
    }
  }
}
