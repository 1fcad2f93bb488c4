package dev.kiln.engine.run;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import java.util.Map;

/**
 * What the planner sees of a run: its identity, params and the state of every task it has, by task
 * name: the step id, or {@code step[k=v,...]} for a combination of a matrix step (see {@link
 * MatrixTasks}). A matrix step settled as a whole before it ran (skipped, cancelled) has one task
 * named as the step. Steps without tasks have not been decided yet.
 */
public record RunSnapshot(
    long runId,
    String trigger,
    RunStatus status,
    Map<String, Object> params,
    Map<String, StepState> steps,
    String pipelineDir,
    String baseDir,
    String scheduledAt) {

  /** A decided task: its status, the outputs it wrote and its artifacts (name -> stored path). */
  public record StepState(
      StepStatus status, Map<String, String> outputs, Map<String, String> artifacts) {}
}
