package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.RetryPolicy;
import dev.kiln.engine.run.Retries.Decision;
import dev.kiln.engine.run.Retries.End;
import dev.kiln.engine.run.Retries.State;
import dev.kiln.engine.task.StepStatus;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetriesTest {
  private static final Duration BACKOFF = Duration.ofSeconds(2);

  private static State state(int attempt, int maxAttempts, boolean cancel, int lost) {
    return new State(attempt, maxAttempts, BACKOFF, cancel, lost);
  }

  @Test
  void aFailedAttemptWithRetriesLeftIsRequeuedAfterAnExponentialBackoff() {
    assertThat(Retries.decide(End.FAILED, state(1, 3, false, 0)))
        .isEqualTo(new Decision.Requeue(Duration.ofSeconds(2), false));
    assertThat(Retries.decide(End.FAILED, state(2, 3, false, 0)))
        .isEqualTo(new Decision.Requeue(Duration.ofSeconds(4), false));
  }

  @Test
  void theLastFailedAttemptSettlesTheTaskAsFailedWithItsOwnResult() {
    assertThat(Retries.decide(End.FAILED, state(3, 3, false, 0)))
        .isEqualTo(new Decision.Settle(StepStatus.FAILED, null));
  }

  @Test
  void anInvalidAttemptFailsAtOnceWithItsRetriesUnspent() {
    assertThat(Retries.decide(End.INVALID, state(1, 3, false, 0)))
        .isEqualTo(new Decision.Settle(StepStatus.FAILED, null));
  }

  @Test
  void aFailedAttemptInACancelledRunIsNotRetried() {
    assertThat(Retries.decide(End.FAILED, state(1, 3, true, 0)))
        .isEqualTo(new Decision.Settle(StepStatus.FAILED, null));
  }

  @Test
  void aLostAttemptIsRequeuedAtOnceWithoutCountingUpToMaxLost() {
    for (int lost = 1; lost <= Retries.MAX_LOST; lost++) {
      assertThat(Retries.decide(End.LOST, state(5, 1, false, lost)))
          .isEqualTo(new Decision.Requeue(Duration.ZERO, true));
    }
  }

  @Test
  void aTaskLostMoreThanMaxLostTimesFails() {
    int lost = Retries.MAX_LOST + 1;
    assertThat(Retries.decide(End.LOST, state(lost, 1, false, lost)))
        .isEqualTo(new Decision.Settle(StepStatus.FAILED, "lost " + lost + " times"));
  }

  @Test
  void aLostOrReleasedTaskOfACancelledRunIsCancelled() {
    assertThat(Retries.decide(End.LOST, state(1, 1, true, 1)))
        .isEqualTo(new Decision.Settle(StepStatus.CANCELLED, null));
    assertThat(Retries.decide(End.RELEASED, state(1, 1, true, 0)))
        .isEqualTo(new Decision.Settle(StepStatus.CANCELLED, "run cancelled"));
  }

  @Test
  void aReleasedTaskIsRequeuedAtOnceWithoutCounting() {
    assertThat(Retries.decide(End.RELEASED, state(1, 1, false, 0)))
        .isEqualTo(new Decision.Requeue(Duration.ZERO, true));
  }

  @Test
  void theBackoffDoublesPerRetryAndIsCapped() {
    assertThat(Retries.delayBefore(0, BACKOFF)).isEqualTo(Duration.ZERO);
    assertThat(Retries.delayBefore(1, BACKOFF)).isEqualTo(Duration.ofSeconds(2));
    assertThat(Retries.delayBefore(3, BACKOFF)).isEqualTo(Duration.ofSeconds(8));
    assertThat(Retries.delayBefore(30, BACKOFF)).isEqualTo(RetryPolicy.MAX_DELAY);
  }

  @Test
  void theRetryEventSaysWhenTheNextAttemptComes() {
    assertThat(Retries.retryingDetail(2, "exit code 1", Duration.ofMillis(1500)))
        .isEqualTo("attempt 2 failed: exit code 1; next attempt in 1.5s");
    assertThat(Retries.retryingDetail(1, null, Duration.ofSeconds(90)))
        .isEqualTo("attempt 1 failed; next attempt in 1m30s");
  }
}
