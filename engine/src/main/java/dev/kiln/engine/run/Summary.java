package dev.kiln.engine.run;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.StepStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The run summary (docs/api.md): run_id, pipeline, status, steps with attempts and outputs. A
 * matrix step also lists its tasks; without the pipeline, every task is listed as a step.
 */
public final class Summary {
  private Summary() {}

  public static String json(RunRecord run, List<TaskRecord> tasks, Pipeline pipeline) {
    return Json.write(map(run, tasks, pipeline));
  }

  public static Map<String, Object> map(RunRecord run, List<TaskRecord> tasks, Pipeline pipeline) {
    Map<String, TaskRecord> byStep = new LinkedHashMap<>();
    tasks.forEach(t -> byStep.put(t.stepId(), t));
    List<Map<String, Object>> steps = new ArrayList<>();
    List<String> order =
        pipeline == null ? List.copyOf(byStep.keySet()) : List.copyOf(pipeline.steps().keySet());
    for (String id : order) {
      Step step = pipeline == null ? null : pipeline.step(id);
      if (step != null && !step.matrix().isEmpty() && !byStep.containsKey(id)) {
        steps.add(matrixStep(id, MatrixTasks.tasks(step), byStep));
      } else {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("id", id);
        steps.add(task(s, byStep.get(id)));
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run_id", run.id());
    m.put("pipeline", run.pipeline());
    m.put("status", run.status().db());
    m.put("pipeline_version", run.pipelineVersion());
    m.put("params", params(run, pipeline));
    m.put("trigger", run.trigger());
    m.put("tags", run.tags());
    m.put("created_at", run.createdAt() == null ? null : run.createdAt().toString());
    m.put("finished_at", run.finishedAt() == null ? null : run.finishedAt().toString());
    m.put("steps", steps);
    return m;
  }

  private static Map<String, Object> task(Map<String, Object> s, TaskRecord t) {
    s.put("status", t == null ? "pending" : t.status().db());
    s.put("attempts", t == null ? 0 : t.attempt());
    s.put("started_at", t == null || t.startedAt() == null ? null : t.startedAt().toString());
    s.put("finished_at", t == null || t.finishedAt() == null ? null : t.finishedAt().toString());
    s.put("outputs", t == null ? Map.of() : t.outputs());
    if (t != null && t.error() != null) {
      s.put("error", t.error());
    }
    if (t != null && t.reusedFrom() != null) {
      s.put("reused", true);
    }
    if (t != null && t.cached()) {
      s.put("cached", true);
    }
    return s;
  }

  /**
   * A matrix step as a whole (status over its tasks, outputs as lists in combination order) with
   * its tasks under "tasks", each with its name and combination.
   */
  private static Map<String, Object> matrixStep(
      String id, List<MatrixTasks.Task> all, Map<String, TaskRecord> byStep) {
    List<Map<String, Object>> tasks = new ArrayList<>();
    List<StepStatus> statuses = new ArrayList<>();
    List<Map<String, String>> outputs = new ArrayList<>();
    int attempts = 0;
    Instant started = null;
    Instant finished = null;
    boolean any = false;
    for (MatrixTasks.Task mt : all) {
      TaskRecord t = byStep.get(mt.name());
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("name", mt.name());
      e.put("matrix", mt.combination());
      tasks.add(task(e, t));
      any |= t != null;
      statuses.add(t == null ? StepStatus.QUEUED : t.status());
      outputs.add(t == null ? Map.of() : t.outputs());
      attempts += t == null ? 0 : t.attempt();
      if (t != null
          && t.startedAt() != null
          && (started == null || t.startedAt().isBefore(started))) {
        started = t.startedAt();
      }
      if (t != null
          && t.finishedAt() != null
          && (finished == null || t.finishedAt().isAfter(finished))) {
        finished = t.finishedAt();
      }
    }
    StepStatus status = StepStatus.overTasks(statuses);
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("id", id);
    s.put("status", any ? status.db() : "pending");
    s.put("attempts", attempts);
    s.put("started_at", started == null ? null : started.toString());
    s.put("finished_at", finished == null || !status.terminal() ? null : finished.toString());
    s.put("outputs", MatrixTasks.lists(outputs));
    s.put("tasks", tasks);
    return s;
  }

  /**
   * The run's params as shown: a {@code secret: true} param's value is {@code ***} (the store keeps
   * it, since a worker elsewhere must receive it; docs/security.md). Without the pipeline every
   * value is masked, since none can be known not to be secret.
   */
  public static Map<String, Object> params(RunRecord run, Pipeline pipeline) {
    Map<String, Object> out = new LinkedHashMap<>();
    run.params()
        .forEach(
            (k, v) -> {
              ParamSpec spec = pipeline == null ? null : pipeline.params().get(k);
              out.put(k, spec != null && !spec.secret() ? v : "***");
            });
    return out;
  }
}
