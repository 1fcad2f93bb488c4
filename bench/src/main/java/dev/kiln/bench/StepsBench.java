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
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.task.RunStatus;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
      "Measure Kiln's cost per step against make and snakemake, in one invocation.",
      "Runs a chain and a fan-out of --steps steps whose command is 'true' with",
      "'make -j2', with 'snakemake --cores 2' when it is installed, with a cold",
      "'kiln run' (a new JVM per run) and through a warm 'kiln server' (a child",
      "process on port 0, runs posted to its API), and prints ms per step and the",
      "ratio to make of each; then validates and plans a 10,000-step pipeline.",
      "First it measures the machine's ceiling: how many 'sh -c true' processes",
      "the JVM starts and reaps a second from one thread per core (3 s), and",
      "prints make -j2's fan-out rate as a share of it.",
      "'kiln bench' without WHAT runs this. Results are recorded in docs/benchmarks.md."
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
        defaultValue = "2",
        description = "worker slots of kiln run and kiln server (default ${DEFAULT-VALUE})")
    int slots;

    @Option(
        names = "--repeat",
        defaultValue = "3",
        description =
            "runs of each DAG by each tool; the median is reported (default ${DEFAULT-VALUE})")
    int repeat;

    @Option(
        names = "--without-snakemake",
        description = "leave snakemake out even when it is installed")
    boolean withoutSnakemake;
  }

  @Mixin Options options;

  @Override
  public Integer call() throws Exception {
    return run(options);
  }

  /** One line of the table: a tool's median wall time over a DAG. */
  private record Row(String what, String dag, double wallMs) {}

  static int run(Options o) throws Exception {
    int steps = o.steps;
    int repeat = o.repeat;
    if (steps < 2 || repeat < 1 || o.slots < 1) {
      throw new ConfigException("--steps must be at least 2, --repeat and --slots at least 1");
    }
    double cmdMs = commandMillis(50);
    System.out.printf("sh -c true as a child process: %.2f ms median of 50%n", cmdMs);
    ProcessCeiling.Result ceiling = ProcessCeiling.measure();
    System.out.println("this machine's ceiling: " + ceiling.describe());
    Path dir = Files.createTempDirectory("kiln-bench-steps");
    Files.writeString(dir.resolve("chain.yaml"), BenchRuns.chainYaml("bench-chain", steps, null));
    Files.writeString(dir.resolve("fanout.yaml"), BenchRuns.fanoutYaml("bench-fanout", steps));
    List<Row> rows = new ArrayList<>();
    // Apart from the folder the server hosts, which must hold pipelines only.
    Path base = Files.createTempDirectory("kiln-bench-baselines");
    rows.add(new Row("make", "chain", Baselines.make(base, true, steps, repeat)));
    rows.add(new Row("make -j2", "fan-out", Baselines.make(base, false, steps, repeat)));
    if (!o.withoutSnakemake) {
      rows.add(new Row("snakemake", "chain", Baselines.snakemake(base, true, steps, repeat)));
      rows.add(
          new Row(
              "snakemake --cores 2", "fan-out", Baselines.snakemake(base, false, steps, repeat)));
    }
    List<Double> gapMs = new ArrayList<>();
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 4)) {
      for (String dag : List.of("chain", "fan-out")) {
        String file = dir.resolve(dag.equals("chain") ? "chain.yaml" : "fanout.yaml").toString();
        List<String> args = List.of("run", file, "--slots", String.valueOf(o.slots));
        KilnProcess.runToEnd(args); // the first run of a pipeline stores its version
        rows.add(
            new Row(
                "kiln run (cold JVM)",
                dag,
                Measure.median(Measure.millis(repeat, () -> KilnProcess.runToEnd(args)))));
      }
      try (KilnProcess.Server server = KilnProcess.server(dir, o.slots)) {
        String token =
            new TokenStore(engine.db()).create("bench-steps-" + System.nanoTime(), Role.OPERATOR);
        HttpClient http = HttpClient.newHttpClient();
        List<Double> first = new ArrayList<>();
        for (String dag : List.of("chain", "fan-out")) {
          String name = dag.equals("chain") ? "bench-chain" : "bench-fanout";
          BenchRuns.Start post = () -> post(http, server, token, name);
          first.add(BenchRuns.runToEnd(engine, post).millis());
          List<Double> ms = new ArrayList<>();
          for (int i = 0; i < repeat; i++) {
            BenchRuns.Timed t = BenchRuns.runToEnd(engine, post);
            ms.add(t.millis());
            if (dag.equals("chain")) {
              gapMs.add(Measure.median(gaps(engine.store().tasks(t.runId()))));
            }
          }
          rows.add(new Row("kiln server (warm)", dag, Measure.median(ms)));
        }
        System.out.printf(
            "kiln server's first runs after its start: chain %.2f ms/step, fan-out %.2f ms/step%n",
            first.get(0) / steps, first.get(1) / steps);
      }
    }
    System.out.println();
    System.out.printf(
        "%-24s %-8s %10s %10s %12s%n",
        "" + steps + " no-op steps", "DAG", "wall ms", "ms/step", "x make");
    for (Row r : rows) {
      if (r.wallMs() < 0) {
        continue;
      }
      double make = rows.get(r.dag().equals("chain") ? 0 : 1).wallMs();
      System.out.printf(
          "%-24s %-8s %10.0f %10.2f %12s%n",
          r.what(),
          r.dag(),
          r.wallMs(),
          r.wallMs() / steps,
          make > 0 ? Measure.ratio(r.wallMs(), make) : "-");
    }
    if (!gapMs.isEmpty()) {
      System.out.printf(
          "kiln server chain: median time from one step's end to the next's, %.2f ms%n",
          Measure.median(gapMs));
    }
    System.out.printf(
        "(slots %d; medians of %d runs; make and snakemake run 'sh -c true' per step)%n",
        o.slots, repeat);
    double makeFanout = steps / (rows.get(1).wallMs() / 1000);
    System.out.printf(
        "make -j2's fan-out starts %.0f steps a second, %.0f %% of the ceiling; 1.5x its time per"
            + " step is %.0f a second, %.0f %%%n",
        makeFanout,
        ceiling.share(makeFanout) * 100,
        makeFanout / 1.5,
        ceiling.share(makeFanout / 1.5) * 100);
    planBench();
    return Main.OK;
  }

  private static long post(HttpClient http, KilnProcess.Server server, String token, String name)
      throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(server.url("/api/pipelines/" + name + "/runs")))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 202) {
      throw new IllegalStateException(
          "POST a run of " + name + ": " + r.statusCode() + " " + r.body());
    }
    return ((Number) Json.readMap(r.body()).get("run_id")).longValue();
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

  static double commandMillis(int n) throws Exception {
    return Measure.median(
        Measure.millis(
            n,
            () ->
                new ProcessBuilder("sh", "-c", "true")
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start()
                    .waitFor()));
  }
}
