package dev.kiln.engine.run;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.expr.Condition;
import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.model.Hook;
import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.run.RunSnapshot.StepState;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.task.TaskSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides, from a run's state alone, which steps start, which are settled without running and
 * whether the run is over. Pure: no I/O, so it is tested without a database and one transaction
 * applies its {@link Plan}.
 */
public final class Planner {

  private Planner() {}

  /**
   * What dependents and expressions see of a decided step, over all its tasks. For a matrix step an
   * output or artifact is a list with one entry per combination, in combination order (null where a
   * combination has none), and {@code inputs} holds one folder per task, {@code step/task-name}.
   */
  record View(
      StepStatus status,
      Map<String, Object> outputs,
      Map<String, Object> artifacts,
      Map<String, Map<String, String>> inputs) {}

  public static Plan plan(Pipeline pipeline, Dag dag, RunSnapshot run) {
    Map<String, StepState> tasks = new HashMap<>(run.steps());
    Map<String, View> views = new HashMap<>();
    List<Plan.Start> start = new ArrayList<>();
    List<Plan.Finish> finish = new ArrayList<>();
    Decider d = new Decider(pipeline, dag, run, tasks, views, start, finish);
    // Ordinary steps first; hooks once all of those have settled, so they see the result.
    pass(d, false);
    if (!pipeline.hooks().isEmpty()) {
      pass(d, true);
    }
    return new Plan(start, finish, runStatus(pipeline, run, views));
  }

  private static void pass(Decider d, boolean hooks) {
    for (String id : d.dag.order()) {
      Step step = d.pipeline.step(id);
      if ((d.pipeline.hook(id) != null) != hooks) {
        continue;
      }
      List<MatrixTasks.Task> all = MatrixTasks.tasks(step);
      List<MatrixTasks.Task> missing =
          d.tasks.containsKey(id)
              ? List.of()
              : all.stream().filter(t -> !d.tasks.containsKey(t.name())).toList();
      if (!missing.isEmpty()) {
        d.decide(step, all, missing);
      }
      View v = view(step, all, d.tasks);
      if (v != null) {
        d.views.put(id, v);
      }
    }
  }

  /** Decides the undecided tasks of one step, adding what it decides to the plan and the state. */
  private record Decider(
      Pipeline pipeline,
      Dag dag,
      RunSnapshot run,
      Map<String, StepState> tasks,
      Map<String, View> views,
      List<Plan.Start> start,
      List<Plan.Finish> finish) {

    void decide(Step step, List<MatrixTasks.Task> all, List<MatrixTasks.Task> missing) {
      String id = step.id();
      // A step none of whose tasks exists yet is settled as a whole, in one row named as the
      // step; one whose other combinations were reused by a retry, task by task.
      List<String> whole =
          missing.size() == all.size()
              ? List.of(id)
              : missing.stream().map(MatrixTasks.Task::name).toList();
      if (run.status() == RunStatus.CANCELLED) {
        settle(whole, StepStatus.CANCELLED, "run cancelled");
        return;
      }
      Hook hook = pipeline.hook(id);
      if (hook != null) {
        RunStatus result = result(pipeline, views, false);
        if (result == null) {
          return; // other steps still to settle
        }
        Hook due = result == RunStatus.SUCCEEDED ? Hook.ON_SUCCESS : Hook.ON_FAILURE;
        if (hook != due) {
          settle(
              whole, StepStatus.SKIPPED, "the run " + result.db() + "; " + hook.key() + " not due");
          return;
        }
      }
      String blockedBy = null;
      for (String need : dag.needs(id)) {
        View s = views.get(need);
        if (s == null || !s.status().terminal()) {
          return;
        }
        if (!satisfies(pipeline.step(need), s.status()) && blockedBy == null) {
          blockedBy = "needs '" + need + "', which " + verb(s.status());
        }
      }
      if (blockedBy != null && !conditionReadsStatus(step)) {
        settle(whole, StepStatus.SKIPPED, blockedBy);
        return;
      }
      // A condition that reads matrix.* is decided per combination; any other once per step.
      boolean perTask = conditionReads(step, "matrix");
      try {
        if (step.condition() != null
            && !perTask
            && !Condition.parse(step.condition()).test(Specs.resolver(run, views, Map.of()))) {
          settle(whole, StepStatus.SKIPPED, "condition is false: " + step.condition());
          return;
        }
      } catch (EvalException | ExprException e) {
        settle(whole, StepStatus.FAILED, "cannot resolve inputs: " + e.getMessage());
        return;
      }
      for (MatrixTasks.Task t : missing) {
        Resolver resolver = Specs.resolver(run, views, t.combination());
        try {
          if (perTask && !Condition.parse(step.condition()).test(resolver)) {
            settle(
                List.of(t.name()), StepStatus.SKIPPED, "condition is false: " + step.condition());
            continue;
          }
          TaskSpec spec = Specs.resolve(pipeline, step, run, views, resolver, t.combination());
          start.add(
              new Plan.Start(
                  t.name(),
                  spec,
                  step.queueOr(pipeline.defaults()),
                  step.retriesOr(pipeline.defaults()).max() + 1,
                  step.retriesOr(pipeline.defaults()).backoff().toMillis()));
          tasks.put(t.name(), new StepState(StepStatus.QUEUED, Map.of(), Map.of()));
        } catch (EvalException | ExprException e) {
          settle(List.of(t.name()), StepStatus.FAILED, "cannot resolve inputs: " + e.getMessage());
        }
      }
    }

    private void settle(List<String> names, StepStatus status, String reason) {
      for (String name : names) {
        finish.add(new Plan.Finish(name, status, reason));
        tasks.put(name, new StepState(status, Map.of(), Map.of()));
      }
    }
  }

  /** The step's view when every task of it has a row, else null (it is not decided yet). */
  private static View view(Step step, List<MatrixTasks.Task> all, Map<String, StepState> tasks) {
    StepState whole = tasks.get(step.id());
    if (whole != null) {
      // Views, not copies: this runs for every decided step on every completion.
      return new View(
          whole.status(),
          Collections.unmodifiableMap(whole.outputs()),
          Collections.unmodifiableMap(whole.artifacts()),
          whole.artifacts().isEmpty() ? Map.of() : Map.of(step.id(), whole.artifacts()));
    }
    List<StepStatus> statuses = new ArrayList<>(all.size());
    List<Map<String, String>> outputs = new ArrayList<>(all.size());
    List<Map<String, String>> artifacts = new ArrayList<>(all.size());
    Map<String, Map<String, String>> inputs = new LinkedHashMap<>();
    for (MatrixTasks.Task t : all) {
      StepState s = tasks.get(t.name());
      if (s == null) {
        return null;
      }
      statuses.add(s.status());
      outputs.add(s.outputs());
      artifacts.add(s.artifacts());
      if (!s.artifacts().isEmpty()) {
        inputs.put(step.id() + "/" + t.name(), s.artifacts());
      }
    }
    return new View(
        StepStatus.overTasks(statuses),
        MatrixTasks.lists(outputs),
        MatrixTasks.lists(artifacts),
        inputs);
  }

  private static RunStatus runStatus(Pipeline pipeline, RunSnapshot run, Map<String, View> views) {
    RunStatus result;
    if (run.status() == RunStatus.CANCELLED) {
      boolean done =
          views.size() == pipeline.steps().size()
              && views.values().stream().allMatch(s -> s.status().terminal());
      result = done ? RunStatus.CANCELLED : null;
    } else {
      result = result(pipeline, views, true);
    }
    if (result == null) {
      return run.status() == RunStatus.QUEUED ? RunStatus.RUNNING : null;
    }
    return result == run.status() ? null : result;
  }

  /**
   * Succeeded or failed once every step counted has settled, else null. Without hooks only the
   * ordinary steps count (what decides which hooks run); with them, a failed hook fails the run, as
   * an Argo exit handler does.
   */
  private static RunStatus result(Pipeline pipeline, Map<String, View> views, boolean hooks) {
    boolean failed = false;
    for (Map.Entry<String, Step> e : pipeline.steps().entrySet()) {
      if (!hooks && pipeline.hook(e.getKey()) != null) {
        continue;
      }
      View v = views.get(e.getKey());
      if (v == null || !v.status().terminal()) {
        return null;
      }
      failed |= v.status() == StepStatus.FAILED && !e.getValue().continueOnError();
    }
    return failed ? RunStatus.FAILED : RunStatus.SUCCEEDED;
  }

  /** Whether a finished need lets its dependents run. */
  static boolean satisfies(Step need, StepStatus status) {
    return status == StepStatus.SUCCEEDED
        || (status == StepStatus.FAILED && need.continueOnError());
  }

  private static String verb(StepStatus s) {
    return switch (s) {
      case FAILED -> "failed";
      case SKIPPED -> "was skipped";
      case CANCELLED -> "was cancelled";
      default -> s.db();
    };
  }

  /**
   * A step whose condition reads another step's status decides for itself whether to run after a
   * failure (a cleanup or alert step), instead of being skipped with its failed need.
   */
  private static boolean conditionReadsStatus(Step step) {
    return conditionRefs(step).stream()
        .anyMatch(p -> p.size() == 3 && p.get(0).equals("steps") && p.get(2).equals("status"));
  }

  private static boolean conditionReads(Step step, String root) {
    return conditionRefs(step).stream().anyMatch(p -> p.get(0).equals(root));
  }

  private static List<List<String>> conditionRefs(Step step) {
    if (step.condition() == null) {
      return List.of();
    }
    try {
      return List.copyOf(Condition.parse(step.condition()).references());
    } catch (ExprException e) {
      return List.of();
    }
  }
}
