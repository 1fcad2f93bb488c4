package dev.kiln.engine.run;

import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.task.TaskSpec;
import java.util.List;

/**
 * What to do next for a run, decided by {@link Planner} and applied in one transaction.
 *
 * @param start steps to enqueue as tasks
 * @param finish steps decided without running them (skipped, cancelled, or failed because their
 *     inputs could not be resolved)
 * @param runStatus the run's new status, or null when it is unchanged
 */
public record Plan(List<Start> start, List<Finish> finish, RunStatus runStatus) {

  public record Start(
      String stepId, TaskSpec spec, String queue, int maxAttempts, long backoffMs) {}

  public record Finish(String stepId, StepStatus status, String reason) {}

  public boolean isEmpty() {
    return start.isEmpty() && finish.isEmpty() && runStatus == null;
  }
}
