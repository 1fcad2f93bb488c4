package dev.kiln.engine.run;

import dev.kiln.dsl.model.RetryPolicy;
import dev.kiln.engine.task.StepStatus;
import java.time.Duration;

/**
 * The one retry decision: what becomes of a task whose attempt ended without succeeding. Pure, so
 * it is tested without a database; {@link RunService} and {@link Leases} act on it.
 */
final class Retries {
  private Retries() {}

  /** How often a task may lose its worker before it fails. */
  static final int MAX_LOST = 3;

  /** How an attempt ended. */
  enum End {
    /** the step failed or timed out */
    FAILED,
    /** the step failed in a way retrying cannot fix (bad input: {@code Outcome.INVALID}) */
    INVALID,
    /** its worker stopped renewing the lease, or died */
    LOST,
    /** its worker handed it back while shutting down */
    RELEASED
  }

  /**
   * A running task's state when its attempt ended.
   *
   * @param attempt the attempt that ended (1 for the first)
   * @param maxAttempts attempts the task may have (the policy's retries + 1, plus lost ones)
   * @param lost attempts lost so far, this one included when it was lost or released
   */
  record State(int attempt, int maxAttempts, Duration backoff, boolean cancelRequested, int lost) {}

  /** What to do. */
  sealed interface Decision {
    /**
     * Queue the task again, claimable after {@code delay}. {@code refund}: the attempt was the
     * infrastructure's fault, not the step's, so it does not count against the retry policy.
     */
    record Requeue(Duration delay, boolean refund) implements Decision {}

    /** Settle the task: {@code status}, with {@code note} (null: the attempt's own result). */
    record Settle(StepStatus status, String note) implements Decision {}
  }

  static Decision decide(End end, State s) {
    return switch (end) {
      case FAILED ->
          !s.cancelRequested() && s.attempt() < s.maxAttempts()
              ? new Decision.Requeue(delayBefore(s.attempt(), s.backoff()), false)
              : new Decision.Settle(StepStatus.FAILED, null);
      case INVALID -> new Decision.Settle(StepStatus.FAILED, null);
      case LOST -> {
        if (s.cancelRequested()) {
          yield new Decision.Settle(StepStatus.CANCELLED, null);
        }
        // A step that keeps killing its worker fails after MAX_LOST lost attempts.
        yield s.lost() <= MAX_LOST
            ? new Decision.Requeue(Duration.ZERO, true)
            : new Decision.Settle(StepStatus.FAILED, "lost " + s.lost() + " times");
      }
      case RELEASED ->
          s.cancelRequested()
              ? new Decision.Settle(StepStatus.CANCELLED, "run cancelled")
              : new Decision.Requeue(Duration.ZERO, true);
    };
  }

  /**
   * The wait before retry number {@code retry} (1 for the first): {@code backoff * 2^(retry-1)},
   * capped at {@link RetryPolicy#MAX_DELAY}.
   */
  static Duration delayBefore(int retry, Duration backoff) {
    if (retry < 1) {
      return Duration.ZERO;
    }
    long millis = backoff.toMillis() * (1L << Math.min(retry - 1, 20));
    return Duration.ofMillis(Math.min(millis, RetryPolicy.MAX_DELAY.toMillis()));
  }

  /** The event of a requeued failed attempt. */
  static String retryingDetail(int attempt, String error, Duration delay) {
    return "attempt "
        + attempt
        + " failed"
        + (error == null ? "" : ": " + error)
        + "; next attempt in "
        + humanMillis(delay.toMillis());
  }

  static String humanMillis(long ms) {
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return (ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.format("%.1f", ms / 1000.0))
          + "s";
    }
    return (ms / 60_000) + "m" + ((ms % 60_000) / 1000) + "s";
  }
}
