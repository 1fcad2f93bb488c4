package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.store.Listener;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.task.RunStatus;
import java.util.Map;

/** The runs the benchmarks measure: generated DAGs, and timing a run to its end. */
final class BenchRuns {
  private BenchRuns() {}

  /** A run that ended, and how long it took from creation to its end. */
  record Timed(long runId, double millis) {}

  /**
   * Creates a run of {@code p} and waits for it to end, woken by run status changes only (waking on
   * every step event would compete for the CPU being measured). Fails unless it succeeded.
   */
  static Timed runToEnd(Engine engine, Pipeline p) {
    return runToEnd(engine, () -> engine.runs().createRun(p, Map.of(), "bench", null));
  }

  /** Something that starts a run (in this process, through the API) and returns its id. */
  interface Start {
    long start() throws Exception;
  }

  /** As above for a run that {@code start} creates, timed from just before it is called. */
  static Timed runToEnd(Engine engine, Start start) {
    try (Listener runs = Listener.open(engine.db(), "kiln_runs")) {
      long t0 = System.nanoTime();
      long runId;
      try {
        runId = start.start();
      } catch (Exception e) {
        throw new IllegalStateException("could not start a bench run: " + e.getMessage(), e);
      }
      while (true) {
        RunRecord r = engine.store().run(runId).orElseThrow();
        if (r.status().terminal()) {
          if (r.status() != RunStatus.SUCCEEDED) {
            throw new IllegalStateException(
                "bench run " + runId + " " + r.status().db() + ": see kiln logs " + runId);
          }
          return new Timed(runId, Measure.millisSince(t0));
        }
        runs.await(1000);
      }
    }
  }

  /** A chain s0 -> s1 -> ... of {@code n} steps running {@code true}, in {@code image} if given. */
  static String chainYaml(String name, int n, String image) {
    StringBuilder y = new StringBuilder("name: " + name + "\n");
    if (image != null) {
      y.append("defaults: { image: \"").append(image).append("\" }\n");
    }
    y.append("steps:\n");
    for (int i = 0; i < n; i++) {
      y.append("  s").append(i).append(":\n    run: \"true\"\n");
      if (i > 0) {
        y.append("    needs: [s").append(i - 1).append("]\n");
      }
    }
    return y.toString();
  }

  /** {@code n} independent steps running {@code true}. */
  static String fanoutYaml(String name, int n) {
    StringBuilder y = new StringBuilder("name: " + name + "\nsteps:\n");
    for (int i = 0; i < n; i++) {
      y.append("  s").append(i).append(":\n    run: \"true\"\n");
    }
    return y.toString();
  }

  static Pipeline parse(String yaml) throws PipelineException {
    return PipelineParser.parse("bench.yaml", yaml).orThrow();
  }
}
