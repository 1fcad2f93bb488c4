package dev.kiln.engine.run;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Step;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tasks of a step. A step without {@code matrix} is one task named as the step; a matrix step
 * is one task per combination, in file order with the first key outermost, named {@code
 * step[k1=v1,k2=v2]}. Pure, so the planner, the CLI and tests agree on names and order.
 */
public final class Matrix {
  private Matrix() {}

  /** One task of a step: its name (the tasks row's step_id) and its combination (empty: none). */
  public record Task(String name, Map<String, Object> combination) {}

  public static List<Task> tasks(Step step) {
    if (step.matrix().isEmpty()) {
      return List.of(new Task(step.id(), Map.of()));
    }
    List<Task> out = new ArrayList<>();
    for (Map<String, Object> c : MatrixTasks.combinations(step.matrix())) {
      out.add(new Task(MatrixTasks.name(step.id(), c), c));
    }
    return out;
  }

  /** How many tasks a step has. */
  public static int size(Step step) {
    int n = 1;
    for (List<Object> values : step.matrix().values()) {
      n *= values.size();
    }
    return n;
  }

  /**
   * Per-task maps (outputs, artifacts) as one map of lists, each list with one entry per task in
   * task order, null where a task has no value for the key.
   */
  public static Map<String, Object> lists(List<Map<String, String>> perTask) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < perTask.size(); i++) {
      for (var e : perTask.get(i).entrySet()) {
        @SuppressWarnings("unchecked")
        List<Object> l =
            (List<Object>)
                out.computeIfAbsent(
                    e.getKey(),
                    k -> new ArrayList<>(java.util.Collections.nCopies(perTask.size(), null)));
        l.set(i, e.getValue());
      }
    }
    return out;
  }

  /**
   * The status of a matrix step from its tasks' statuses: active while any task is; then failed if
   * any failed, cancelled if any was cancelled, skipped if all were skipped, else succeeded.
   */
  public static StepStatus status(Collection<StepStatus> tasks) {
    if (tasks.contains(StepStatus.RUNNING)) {
      return StepStatus.RUNNING;
    }
    if (tasks.contains(StepStatus.QUEUED)) {
      return StepStatus.QUEUED;
    }
    if (tasks.contains(StepStatus.FAILED)) {
      return StepStatus.FAILED;
    }
    if (tasks.contains(StepStatus.CANCELLED)) {
      return StepStatus.CANCELLED;
    }
    return tasks.stream().allMatch(s -> s == StepStatus.SKIPPED)
        ? StepStatus.SKIPPED
        : StepStatus.SUCCEEDED;
  }
}
