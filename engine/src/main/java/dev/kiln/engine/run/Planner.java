package dev.kiln.engine.run;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.expr.Condition;
import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.run.RunSnapshot.StepState;
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
    for (String id : dag.order()) {
      Step step = pipeline.step(id);
      List<Matrix.Task> all = Matrix.tasks(step);
      List<Matrix.Task> missing =
          tasks.containsKey(id)
              ? List.of()
              : all.stream().filter(t -> !tasks.containsKey(t.name())).toList();
      if (!missing.isEmpty()) {
        d.decide(step, all, missing);
      }
      View v = view(step, all, tasks);
      if (v != null) {
        views.put(id, v);
      }
    }
    return new Plan(start, finish, runStatus(pipeline, run, views));
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

    void decide(Step step, List<Matrix.Task> all, List<Matrix.Task> missing) {
      String id = step.id();
      // A step none of whose tasks exists yet is settled as a whole, in one row named as the
      // step; one whose other combinations were reused by a retry, task by task.
      List<String> whole =
          missing.size() == all.size()
              ? List.of(id)
              : missing.stream().map(Matrix.Task::name).toList();
      if (run.status() == RunStatus.CANCELLED) {
        settle(whole, StepStatus.CANCELLED, "run cancelled");
        return;
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
            && !Condition.parse(step.condition()).test(resolver(run, views, Map.of()))) {
          settle(whole, StepStatus.SKIPPED, "condition is false: " + step.condition());
          return;
        }
      } catch (EvalException | ExprException e) {
        settle(whole, StepStatus.FAILED, "cannot resolve inputs: " + e.getMessage());
        return;
      }
      for (Matrix.Task t : missing) {
        Resolver resolver = resolver(run, views, t.combination());
        try {
          if (perTask && !Condition.parse(step.condition()).test(resolver)) {
            settle(
                List.of(t.name()), StepStatus.SKIPPED, "condition is false: " + step.condition());
            continue;
          }
          TaskSpec spec = resolve(pipeline, step, run, views, resolver, t.combination());
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
  private static View view(Step step, List<Matrix.Task> all, Map<String, StepState> tasks) {
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
    for (Matrix.Task t : all) {
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
        Matrix.status(statuses), Matrix.lists(outputs), Matrix.lists(artifacts), inputs);
  }

  private static RunStatus runStatus(Pipeline pipeline, RunSnapshot run, Map<String, View> views) {
    boolean done =
        views.size() == pipeline.steps().size()
            && views.values().stream().allMatch(s -> s.status().terminal());
    if (!done) {
      return run.status() == RunStatus.QUEUED ? RunStatus.RUNNING : null;
    }
    RunStatus result;
    if (run.status() == RunStatus.CANCELLED) {
      result = RunStatus.CANCELLED;
    } else {
      boolean failed =
          views.entrySet().stream()
              .anyMatch(
                  e ->
                      e.getValue().status() == StepStatus.FAILED
                          && !pipeline.step(e.getKey()).continueOnError());
      result = failed ? RunStatus.FAILED : RunStatus.SUCCEEDED;
    }
    return result == run.status() ? null : result;
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

  private static TaskSpec resolve(
      Pipeline pipeline,
      Step step,
      RunSnapshot run,
      Map<String, View> views,
      Resolver resolver,
      Map<String, Object> combination)
      throws EvalException, ExprException {
    StepRender render = new StepRender(resolver, pipeline, run.params());
    Map<String, String> env = new LinkedHashMap<>();
    for (var e : pipeline.defaults().env().entrySet()) {
      render.env(env, e.getKey(), e.getValue());
    }
    for (var e : step.env().entrySet()) {
      render.env(env, e.getKey(), e.getValue());
    }
    if (!combination.isEmpty()) {
      env.put("KILN_MATRIX", dev.kiln.engine.store.Json.write(combination));
    }
    Map<String, Map<String, String>> inputs = new LinkedHashMap<>();
    for (String need : step.needs()) {
      View s = views.get(need);
      if (s != null) {
        inputs.putAll(s.inputs());
      }
    }
    var timeout = step.timeoutOr(pipeline.defaults());
    Long timeoutMs = timeout == null ? null : timeout.toMillis();
    var res = step.resources();
    Double cpus = res == null ? null : res.cpus();
    Long mem = res == null ? null : res.memoryBytes();
    if (step.action() instanceof Action.Run r) {
      String command = render.command(r.command(), env);
      render.finish(env);
      return new TaskSpec(
          "run",
          command,
          null,
          Map.of(),
          step.imageOr(pipeline.defaults()),
          env,
          timeoutMs,
          cpus,
          mem,
          step.user(),
          step.network(),
          inputs,
          run.pipelineDir(),
          run.baseDir(),
          step.cache(),
          step.capabilities());
    }
    Action.Uses u = (Action.Uses) step.action();
    @SuppressWarnings("unchecked")
    Map<String, Object> with = (Map<String, Object>) render.with(u.with(), "");
    render.finish(env);
    return new TaskSpec(
        "uses",
        null,
        u.name(),
        with,
        null,
        env,
        timeoutMs,
        cpus,
        mem,
        null,
        null,
        inputs,
        run.pipelineDir(),
        run.baseDir(),
        step.cache());
  }

  /** Reads references for one task; {@code combination} is its matrix values (empty: none). */
  static Resolver resolver(
      RunSnapshot run, Map<String, View> views, Map<String, Object> combination) {
    return path -> {
      String root = path.get(0);
      switch (root) {
        case "matrix" -> {
          if (path.size() == 2 && combination.containsKey(path.get(1))) {
            return combination.get(path.get(1));
          }
        }
        case "params" -> {
          if (path.size() == 2 && run.params().containsKey(path.get(1))) {
            return run.params().get(path.get(1));
          }
        }
        case "run" -> {
          if (path.size() == 2) {
            switch (path.get(1)) {
              case "id" -> {
                return run.runId();
              }
              case "trigger" -> {
                return run.trigger();
              }
              case "scheduled_at" -> {
                return run.scheduledAt();
              }
              default -> {}
            }
          }
        }
        case "secrets" -> {
          // Only the worker resolves a secret, where StepRender left a reference for it: a secret
          // inside a larger expression (a condition, a comparison) is refused.
          throw new EvalException(
              "'"
                  + String.join(".", path)
                  + "' can only be used on its own, as ${{ secrets.NAME }} in run:, env: or with:");
        }
        case "steps" -> {
          View s = path.size() >= 3 ? views.get(path.get(1)) : null;
          if (s != null) {
            String part = path.get(2);
            if (part.equals("status") && path.size() == 3) {
              return s.status().db();
            }
            if (part.equals("outputs") && path.size() == 4) {
              Object v = s.outputs().get(path.get(3));
              if (v != null) {
                return v;
              }
              throw new EvalException(
                  "step '" + path.get(1) + "' wrote no output '" + path.get(3) + "'");
            }
            if (part.equals("artifacts") && path.size() == 4) {
              Object v = artifact(s.artifacts(), path.get(3));
              if (v != null) {
                return v;
              }
              throw new EvalException(
                  "step '" + path.get(1) + "' made no artifact '" + path.get(3) + "'");
            }
          }
        }
        default -> {}
      }
      throw new EvalException("unknown reference '" + String.join(".", path) + "'");
    };
  }

  /** An artifact by its file name, or by its name without extension when that is unambiguous. */
  static <V> V artifact(Map<String, V> artifacts, String name) {
    V exact = artifacts.get(name);
    if (exact != null) {
      return exact;
    }
    V found = null;
    for (var e : artifacts.entrySet()) {
      String k = e.getKey();
      int dot = k.lastIndexOf('.');
      if (dot > 0 && k.substring(0, dot).equals(name)) {
        if (found != null) {
          return null;
        }
        found = e.getValue();
      }
    }
    return found;
  }
}
