package dev.kiln.workers;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Test helpers: parse inline pipelines, wait for conditions with a deadline. */
public final class Pipelines {
  private Pipelines() {}

  public static Pipeline parse(String yaml) {
    try {
      return PipelineParser.parse("test.yaml", yaml).orThrow();
    } catch (Exception e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  public static long start(Engine engine, String yaml, Map<String, Object> params) {
    return engine.runs().createRun(parse(yaml), params, "manual", null);
  }

  /** The task of a run by its name (a step id, or a matrix step's {@code step[k=v,...]}). */
  public static TaskRecord task(Engine engine, long runId, String name) {
    return engine.store().tasks(runId).stream()
        .filter(t -> t.stepId().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("run " + runId + " has no task " + name));
  }

  public static RunRecord awaitEnd(Engine engine, long runId, Duration within) {
    await(() -> engine.store().ended(runId), within, "run " + runId + " to end");
    return engine.store().run(runId).orElseThrow();
  }

  public static void await(BooleanSupplier condition, Duration within, String what) {
    try {
      Await.until(what, within, condition::getAsBoolean);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception cannotHappen) {
      throw new IllegalStateException(cannotHappen); // a BooleanSupplier throws nothing checked
    }
  }

  /** A pid a step wrote into a file: the shell creates the file before it writes into it. */
  public static boolean pidWritten(java.nio.file.Path file) {
    try {
      return !java.nio.file.Files.readString(file).isBlank();
    } catch (java.io.IOException notYet) {
      return false;
    }
  }

  public static boolean succeeded(RunRecord r) {
    return r.status() == RunStatus.SUCCEEDED;
  }
}
