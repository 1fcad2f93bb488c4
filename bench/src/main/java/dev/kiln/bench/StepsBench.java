package dev.kiln.bench;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.Planner;
import dev.kiln.engine.run.RunSnapshot;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "steps",
    mixinStandardHelpOptions = true,
    description = {
      "Measure the engine's overhead per step against make -j2.",
      "Runs a chain and a fan-out of --steps steps whose command is 'true' on the",
      "process executor, the same DAGs with 'make -j2', and validates and plans a",
      "10,000-step pipeline. 'kiln bench' without WHAT runs this. Results are",
      "recorded in docs/benchmarks.md."
    })
final class StepsBench implements Callable<Integer> {
  /** The options of {@code kiln bench steps}, also those of {@code kiln bench}. */
  static final class Options {
    @Option(
        names = "--steps",
        defaultValue = "200",
        description = "steps per DAG (default ${DEFAULT-VALUE})")
    int steps;

    @Option(
        names = "--slots",
        defaultValue = "4",
        description = "worker slots for the fan-out (default ${DEFAULT-VALUE})")
    int slots;

    @Option(
        names = "--repeat",
        defaultValue = "3",
        description = "runs of each DAG; the median is reported (default ${DEFAULT-VALUE})")
    int repeat;
  }

  @Mixin Options options;

  @Override
  public Integer call() throws Exception {
    return run(options);
  }

  static int run(Options o) throws Exception {
    int steps = o.steps;
    int slots = o.slots;
    int repeat = o.repeat;
    if (steps < 2 || repeat < 1) {
      throw new ConfigException("--steps must be at least 2 and --repeat at least 1");
    }
    double cmdMs = commandMillis(50);
    System.out.printf(
        "command 'true' as a child process: %.2f ms median (%d samples)%n", cmdMs, 50);

    Pipeline chain = BenchRuns.parse(BenchRuns.chainYaml("bench-chain", steps, null));
    Pipeline fanout = BenchRuns.parse(BenchRuns.fanoutYaml("bench-fanout", steps));
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 6)) {
      WorkerRuntime.Handle workers =
          WorkerRuntime.load()
              .start(
                  engine,
                  new WorkerRuntime.Options(
                      "bench-" + ManagementFactory.getRuntimeMXBean().getName(),
                      List.of("default"),
                      slots,
                      Duration.ofSeconds(30),
                      "process"));
      try {
        runToEnd(engine, BenchRuns.parse(BenchRuns.chainYaml("bench-warmup", 20, null)));
        List<Double> chainWall = new ArrayList<>();
        List<Double> chainMedianOverhead = new ArrayList<>();
        List<Double> fanWall = new ArrayList<>();
        for (int i = 0; i < repeat; i++) {
          Measured m = runToEnd(engine, chain);
          chainWall.add(m.wallMs);
          chainMedianOverhead.add(Measure.median(gaps(m.tasks)) - cmdMs);
          fanWall.add(runToEnd(engine, fanout).wallMs);
        }
        double cw = Measure.median(chainWall);
        double fw = Measure.median(fanWall);
        double makeChain = makeMillis(true, steps, repeat);
        double makeFan = makeMillis(false, steps, repeat);
        System.out.println();
        System.out.printf("%-34s %12s %14s %12s%n", "", "wall (ms)", "overhead/step", "steps/s");
        System.out.printf(
            "%-34s %12.0f %11.2f ms %12.0f%n",
            "kiln chain of " + steps, cw, (cw - steps * cmdMs) / steps, steps / (cw / 1000));
        System.out.printf(
            "%-34s %12s %11.2f ms %12s%n",
            "  median per-step overhead", "", Measure.median(chainMedianOverhead), "");
        if (makeChain >= 0) {
          System.out.printf(
              "%-34s %12.0f %11.2f ms %12.0f%n",
              "make -j2 chain of " + steps,
              makeChain,
              (makeChain - steps * cmdMs) / steps,
              steps / (makeChain / 1000));
        }
        System.out.printf(
            "%-34s %12.0f %11.2f ms %12.0f%n",
            "kiln fan-out of " + steps + " (" + slots + " slots)",
            fw,
            (fw - steps * cmdMs) / steps,
            steps / (fw / 1000));
        if (makeFan >= 0) {
          System.out.printf(
              "%-34s %12.0f %11.2f ms %12.0f%n",
              "make -j2 fan-out of " + steps,
              makeFan,
              (makeFan - steps * cmdMs) / steps,
              steps / (makeFan / 1000));
        }
        if (makeChain > 0 && makeFan > 0) {
          System.out.println(
              "ratio kiln/make: chain "
                  + Measure.ratio(cw, makeChain)
                  + ", fan-out "
                  + Measure.ratio(fw, makeFan));
        }
      } finally {
        workers.close();
      }
    }
    planBench();
    return Main.OK;
  }

  private static void planBench() throws Exception {
    String yaml = BenchRuns.chainYaml("bench-big", 10_000, null);
    List<Double> ms =
        Measure.millis(
            5,
            () -> {
              Pipeline p = PipelineParser.parse("big.yaml", yaml).orThrow();
              Dag dag = Dag.of(p);
              Planner.plan(
                  p,
                  dag,
                  new RunSnapshot(
                      1, "bench", RunStatus.QUEUED, Map.of(), Map.of(), null, null, null));
            });
    System.out.printf(
        "validate + plan a 10,000-step chain: %.0f ms median of 5 (first %.0f ms)%n",
        Measure.median(ms), ms.get(0));
  }

  private record Measured(double wallMs, List<TaskRecord> tasks) {}

  private static Measured runToEnd(Engine engine, Pipeline p) throws Exception {
    BenchRuns.Timed t = BenchRuns.runToEnd(engine, p);
    return new Measured(t.millis(), engine.store().tasks(t.runId()));
  }

  /** Time between consecutive step completions in a chain, in ms. */
  private static List<Double> gaps(List<TaskRecord> tasks) {
    List<Instant> done =
        tasks.stream().map(TaskRecord::finishedAt).sorted(Comparator.naturalOrder()).toList();
    List<Double> out = new ArrayList<>();
    for (int i = 1; i < done.size(); i++) {
      out.add(Duration.between(done.get(i - 1), done.get(i)).toNanos() / 1e6);
    }
    return out;
  }

  private static double commandMillis(int n) throws Exception {
    return Measure.median(
        Measure.millis(
            n,
            () ->
                new ProcessBuilder("sh", "-c", "true")
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start()
                    .waitFor()));
  }

  /** Wall time of make -j2 over the same DAG, or -1 when make is not installed. */
  private static double makeMillis(boolean chain, int steps, int repeat) throws Exception {
    Path dir = Files.createTempDirectory("kiln-bench-make");
    StringBuilder mk = new StringBuilder(".PHONY: all");
    for (int i = 0; i < steps; i++) {
      mk.append(" s").append(i);
    }
    mk.append("\nall:");
    if (chain) {
      mk.append(" s").append(steps - 1).append('\n');
      for (int i = 0; i < steps; i++) {
        mk.append("s")
            .append(i)
            .append(":")
            .append(i == 0 ? "" : " s" + (i - 1))
            .append("\n\t@sh -c true\n");
      }
    } else {
      for (int i = 0; i < steps; i++) {
        mk.append(" s").append(i);
      }
      mk.append('\n');
      for (int i = 0; i < steps; i++) {
        mk.append("s").append(i).append(":\n\t@sh -c true\n");
      }
    }
    Files.writeString(dir.resolve("Makefile"), mk.toString());
    List<Double> ms;
    try {
      ms =
          Measure.millis(
              repeat,
              () -> {
                Process p =
                    new ProcessBuilder("make", "-s", "-j2", "-C", dir.toString())
                        .inheritIO()
                        .start();
                if (p.waitFor() != 0) {
                  throw new IllegalStateException("make failed");
                }
              });
    } catch (IOException noMake) {
      System.out.println("make is not installed: no baseline");
      return -1;
    }
    return Measure.median(ms);
  }
}
