package dev.kiln.engine.cli;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The run summary of DESIGN.md: run_id, pipeline, status, steps with attempts and outputs. */
public final class Summary {
  private Summary() {}

  public static String json(RunRecord run, List<TaskRecord> tasks, Pipeline pipeline) {
    return Json.write(map(run, tasks, pipeline));
  }

  public static Map<String, Object> map(RunRecord run, List<TaskRecord> tasks, Pipeline pipeline) {
    Map<String, TaskRecord> byStep = new LinkedHashMap<>();
    tasks.forEach(t -> byStep.put(t.stepId(), t));
    List<Map<String, Object>> steps = new ArrayList<>();
    List<String> order = pipeline == null ? List.copyOf(byStep.keySet())
        : List.copyOf(pipeline.steps().keySet());
    for (String id : order) {
      TaskRecord t = byStep.get(id);
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("id", id);
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
      steps.add(s);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run_id", run.id());
    m.put("pipeline", run.pipeline());
    m.put("status", run.status().db());
    m.put("pipeline_version", run.pipelineVersion());
    m.put("params", run.params());
    m.put("trigger", run.trigger());
    m.put("tags", run.tags());
    m.put("created_at", run.createdAt() == null ? null : run.createdAt().toString());
    m.put("finished_at", run.finishedAt() == null ? null : run.finishedAt().toString());
    m.put("steps", steps);
    return m;
  }
}
