package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.KilnConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "scale",
    mixinStandardHelpOptions = true,
    description = {
      "Measure scale-out over worker processes and the claim query's cost.",
      "Runs a fan-out of --steps no-op process steps over 1, 2 and 4 'kiln worker'",
      "processes (steps/s each), then EXPLAIN ANALYZEs claims with --queued tasks",
      "waiting: of that queue, of another queue, of another run (what 'kiln run'",
      "claims). Results are recorded in docs/benchmarks.md."
    })
final class ScaleBench implements Callable<Integer> {
  @Option(
      names = "--steps",
      defaultValue = "1000",
      description = "fan-out width (default ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--workers",
      split = ",",
      defaultValue = "1,2,4",
      description = "worker process counts to try (default ${DEFAULT-VALUE})")
  List<Integer> workers;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "slots per worker (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--queued",
      defaultValue = "100000",
      description = "queued tasks for the claim EXPLAIN (default ${DEFAULT-VALUE})")
  int queued;

  @Override
  public Integer call() throws Exception {
    KilnConfig config = KilnConfig.fromEnvironment();
    try (Engine engine = Engine.open(config, 4)) {
      Pipeline fan = BenchRuns.parse(BenchRuns.fanoutYaml("bench-scale", steps));
      System.out.printf("%-10s %12s %10s%n", "workers", "wall (ms)", "steps/s");
      for (int n : workers) {
        List<Process> procs = startWorkers(engine, config, n);
        try {
          double ms = BenchRuns.runToEnd(engine, fan).millis();
          System.out.printf("%-10d %12.0f %10.0f%n", n, ms, steps / (ms / 1000));
        } finally {
          for (Process p : procs) {
            p.destroy();
          }
          for (Process p : procs) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
              p.destroyForcibly();
            }
          }
        }
      }
      explain(engine);
    }
    return Main.OK;
  }

  private List<Process> startWorkers(Engine engine, KilnConfig config, int n) throws Exception {
    String javaBin = ProcessHandle.current().info().command().orElse("java");
    List<Process> procs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ProcessBuilder pb =
          new ProcessBuilder(
              javaBin,
              "-cp",
              System.getProperty("java.class.path"),
              Main.class.getName(),
              "worker",
              "--slots",
              String.valueOf(slots),
              "--executor",
              "process");
      if (config.dbUrl() != null) { // else the workers open the embedded one through KILN_HOME
        pb.environment().put("KILN_DB_URL", config.dbUrl());
        if (config.dbUser() != null) {
          pb.environment().put("KILN_DB_USER", config.dbUser());
        }
        if (config.dbPassword() != null) {
          pb.environment().put("KILN_DB_PASSWORD", config.dbPassword());
        }
      }
      pb.environment().put("KILN_HOME", config.home().toString());
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      procs.add(pb.start());
    }
    // Each worker says on stderr when it serves: measure from there, not from JVM start.
    for (Process p : procs) {
      BufferedReader r =
          new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = r.readLine()) != null && !line.contains(" serving ")) {
        // skip start-up lines
      }
      if (line == null) {
        throw new IllegalStateException("a worker process exited before serving");
      }
      KilnProcess.drain("kiln-bench-worker-out", r);
    }
    return procs;
  }

  private void explain(Engine engine) throws Exception {
    Pipeline one = BenchRuns.parse(BenchRuns.fanoutYaml("bench-claim", 1));
    long run = engine.runs().createRun(one, Map.of(), "bench", null);
    // Enough queued tasks in another queue that no worker serves, so they stay queued.
    engine.queue().queueCopies(run, "bench-claim", queued);
    // A newer run with a task in the default queue, behind the whole backlog.
    long newer = engine.runs().createRun(one, Map.of(), "bench", null);
    System.out.printf(
        "%nclaim of 4 tasks of the queue where %,d wait (EXPLAIN ANALYZE):%n", queued);
    System.out.println(engine.queue().explainClaim(List.of("bench-claim"), null, 4));
    System.out.printf(
        "%nclaim of 4 tasks of queue 'default' while %,d wait in another queue:%n", queued);
    System.out.println(engine.queue().explainClaim(List.of("default"), null, 4));
    System.out.printf(
        "%nkiln run's claim of its own run's tasks while %,d of another run wait:%n", queued);
    System.out.println(engine.queue().explainClaim(List.of("default", "bench-claim"), newer, 4));
    engine.runs().cancel(run);
    engine.runs().cancel(newer);
  }
}
