package dev.kiln.engine.run;

import java.util.Map;

/**
 * What the planner sees of a run: its identity, params and the state of every step that has a
 * task. Steps absent from {@code steps} have not been decided yet.
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

  /** A decided step: its status, the outputs it wrote and its artifacts (name -> stored path). */
  public record StepState(
      StepStatus status, Map<String, String> outputs, Map<String, String> artifacts) {}
}
