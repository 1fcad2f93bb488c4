package dev.kiln.engine.run;

import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.run.Planner.View;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.task.TaskSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves a step's {@code ${{ }}} expressions against a run's state into the {@link TaskSpec} a
 * worker runs: env, command or built-in {@code with}, inputs. Pure, as the planner is.
 */
final class Specs {
  private Specs() {}

  static TaskSpec resolve(
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
      env.put("KILN_MATRIX", Json.write(combination));
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
          step.capabilities(),
          step.executor());
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
        step.cache(),
        List.of(),
        null);
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
