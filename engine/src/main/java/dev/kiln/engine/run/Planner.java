package dev.kiln.engine.run;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.expr.Condition;
import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.expr.Template;
import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.run.RunSnapshot.StepState;
import java.util.ArrayList;
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
   * What this engine cannot run yet, one line per step ({@code FILE:LINE:COL: ...}): a run is
   * refused up front rather than failing halfway.
   */
  public static List<String> unsupported(Pipeline pipeline) {
    List<String> out = new ArrayList<>();
    for (Step s : pipeline.steps().values()) {
      if (!s.matrix().isEmpty()) {
        out.add(s.location() + ": step '" + s.id()
            + "' uses 'matrix', which this version of the engine does not run yet");
      }
    }
    return out;
  }

  public static Plan plan(Pipeline pipeline, Dag dag, RunSnapshot run) {
    Map<String, StepState> states = new HashMap<>(run.steps());
    List<Plan.Start> start = new ArrayList<>();
    List<Plan.Finish> finish = new ArrayList<>();
    boolean cancelled = run.status() == RunStatus.CANCELLED;

    for (String id : dag.order()) {
      if (states.containsKey(id)) {
        continue;
      }
      Step step = pipeline.step(id);
      if (cancelled) {
        settle(states, finish, id, StepStatus.CANCELLED, "run cancelled");
        continue;
      }
      boolean ready = true;
      String blockedBy = null;
      for (String need : dag.needs(id)) {
        StepState s = states.get(need);
        if (s == null || !s.status().terminal()) {
          ready = false;
          break;
        }
        if (!satisfies(pipeline.step(need), s.status()) && blockedBy == null) {
          blockedBy = "needs '" + need + "', which " + verb(s.status());
        }
      }
      if (!ready) {
        continue;
      }
      Resolver resolver = resolver(run, states);
      if (blockedBy != null && !conditionReadsStatus(step)) {
        settle(states, finish, id, StepStatus.SKIPPED, blockedBy);
        continue;
      }
      try {
        if (step.condition() != null && !Condition.parse(step.condition()).test(resolver)) {
          settle(states, finish, id, StepStatus.SKIPPED, "condition is false: " + step.condition());
          continue;
        }
        TaskSpec spec = resolve(pipeline, step, run, states, resolver);
        start.add(
            new Plan.Start(
                id,
                spec,
                step.queueOr(pipeline.defaults()),
                step.retriesOr(pipeline.defaults()).max() + 1,
                step.retriesOr(pipeline.defaults()).backoff().toMillis()));
        states.put(id, new StepState(StepStatus.QUEUED, Map.of(), Map.of()));
      } catch (EvalException | ExprException e) {
        settle(states, finish, id, StepStatus.FAILED, "cannot resolve inputs: " + e.getMessage());
      }
    }
    return new Plan(start, finish, runStatus(pipeline, run, states));
  }

  private static RunStatus runStatus(
      Pipeline pipeline, RunSnapshot run, Map<String, StepState> states) {
    boolean done = states.size() == pipeline.steps().size()
        && states.values().stream().allMatch(s -> s.status().terminal());
    if (!done) {
      return run.status() == RunStatus.QUEUED ? RunStatus.RUNNING : null;
    }
    RunStatus result;
    if (run.status() == RunStatus.CANCELLED) {
      result = RunStatus.CANCELLED;
    } else {
      boolean failed = states.entrySet().stream()
          .anyMatch(e -> e.getValue().status() == StepStatus.FAILED
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
   * A step whose condition reads another step's status decides for itself whether to run after
   * a failure (a cleanup or alert step), instead of being skipped with its failed need.
   */
  private static boolean conditionReadsStatus(Step step) {
    if (step.condition() == null) {
      return false;
    }
    try {
      return Condition.parse(step.condition()).references().stream()
          .anyMatch(p -> p.size() == 3 && p.get(0).equals("steps") && p.get(2).equals("status"));
    } catch (ExprException e) {
      return false;
    }
  }

  private static void settle(
      Map<String, StepState> states, List<Plan.Finish> finish, String id, StepStatus status,
      String reason) {
    finish.add(new Plan.Finish(id, status, reason));
    states.put(id, new StepState(status, Map.of(), Map.of()));
  }

  private static TaskSpec resolve(
      Pipeline pipeline, Step step, RunSnapshot run, Map<String, StepState> states,
      Resolver resolver) throws EvalException, ExprException {
    Map<String, String> env = new LinkedHashMap<>();
    for (var e : pipeline.defaults().env().entrySet()) {
      env.put(e.getKey(), Template.parse(e.getValue()).render(resolver));
    }
    for (var e : step.env().entrySet()) {
      env.put(e.getKey(), Template.parse(e.getValue()).render(resolver));
    }
    Map<String, Map<String, String>> inputs = new LinkedHashMap<>();
    for (String need : step.needs()) {
      StepState s = states.get(need);
      if (s != null && !s.artifacts().isEmpty()) {
        inputs.put(need, s.artifacts());
      }
    }
    var timeout = step.timeoutOr(pipeline.defaults());
    Long timeoutMs = timeout == null ? null : timeout.toMillis();
    var res = step.resources();
    Double cpus = res == null ? null : res.cpus();
    Long mem = res == null ? null : res.memoryBytes();
    if (step.action() instanceof Action.Run r) {
      String command = Template.parse(r.command()).render(resolver);
      return new TaskSpec("run", command, null, Map.of(), step.imageOr(pipeline.defaults()), env,
          timeoutMs, cpus, mem, step.user(), step.network(), inputs, run.pipelineDir(),
          run.baseDir(), step.cache());
    }
    Action.Uses u = (Action.Uses) step.action();
    @SuppressWarnings("unchecked")
    Map<String, Object> with = (Map<String, Object>) renderValue(u.with(), resolver);
    return new TaskSpec("uses", null, u.name(), with, null, env, timeoutMs, cpus, mem, null, null,
        inputs, run.pipelineDir(), run.baseDir(), step.cache());
  }

  private static Object renderValue(Object v, Resolver resolver)
      throws EvalException, ExprException {
    if (v instanceof String s) {
      return Template.parse(s).evaluate(resolver);
    }
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (var e : m.entrySet()) {
        out.put(String.valueOf(e.getKey()), renderValue(e.getValue(), resolver));
      }
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      for (Object o : l) {
        out.add(renderValue(o, resolver));
      }
      return out;
    }
    return v;
  }

  static Resolver resolver(RunSnapshot run, Map<String, StepState> states) {
    return path -> {
      String root = path.get(0);
      switch (root) {
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
              default -> { }
            }
          }
        }
        case "secrets" -> {
          // Resolved by the worker from its own environment, so secrets never reach the store.
          if (path.size() == 2) {
            return "${{ secrets." + path.get(1) + " }}";
          }
        }
        case "steps" -> {
          StepState s = path.size() >= 3 ? states.get(path.get(1)) : null;
          if (s != null) {
            String part = path.get(2);
            if (part.equals("status") && path.size() == 3) {
              return s.status().db();
            }
            if (part.equals("outputs") && path.size() == 4) {
              String v = s.outputs().get(path.get(3));
              if (v != null) {
                return v;
              }
              throw new EvalException(
                  "step '" + path.get(1) + "' wrote no output '" + path.get(3) + "'");
            }
            if (part.equals("artifacts") && path.size() == 4) {
              String v = artifact(s.artifacts(), path.get(3));
              if (v != null) {
                return v;
              }
              throw new EvalException(
                  "step '" + path.get(1) + "' made no artifact '" + path.get(3) + "'");
            }
          }
        }
        default -> { }
      }
      throw new EvalException("unknown reference '" + String.join(".", path) + "'");
    };
  }

  /** An artifact by its file name, or by its name without extension when that is unambiguous. */
  static String artifact(Map<String, String> artifacts, String name) {
    String exact = artifacts.get(name);
    if (exact != null) {
      return exact;
    }
    String found = null;
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
