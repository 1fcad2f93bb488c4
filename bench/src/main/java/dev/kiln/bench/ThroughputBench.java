package dev.kiln.bench;

import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Listener;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.task.RunStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs per minute of a server: many one-step runs posted at once through the API. */
@Command(
    name = "throughput",
    mixinStandardHelpOptions = true,
    description = {
      "Measure how many runs a minute a kiln server starts and finishes.",
      "Starts 'kiln server --port 0' as a child process with in-process workers",
      "(--slots) hosting a one-step pipeline ('true'), posts --runs runs to",
      "POST /api/pipelines/NAME/runs from --clients concurrent keep-alive clients,",
      "and waits for all to end. Prints runs/min (first POST to last end), the",
      "POST's p50/p99 and the p99 trigger-to-finish (run created to run finished,",
      "on the database clock). A warm-up round of --warmup runs goes first.",
      "Last, the machine's ceiling: 'sh -c true' processes started and reaped a",
      "second from one thread per core (3 s), and this run's rate and 10,000",
      "runs/min as shares of it (each run starts one process).",
      "See docs/benchmarks.md."
    })
final class ThroughputBench implements Callable<Integer> {
  @Option(
      names = "--runs",
      defaultValue = "1000",
      description = "runs posted (default ${DEFAULT-VALUE})")
  int runs;

  @Option(
      names = "--clients",
      defaultValue = "20",
      description = "concurrent HTTP clients (default ${DEFAULT-VALUE})")
  int clients;

  @Option(
      names = "--slots",
      defaultValue = "8",
      description = "the server's in-process worker slots (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--warmup",
      defaultValue = "200",
      description = "runs posted and finished before the measured ones (default ${DEFAULT-VALUE})")
  int warmup;

  /** One measured round. */
  private record Round(
      double seconds, List<Double> postMs, List<Double> triggerToFinishMs, List<Long> runIds) {}

  @Override
  public Integer call() throws Exception {
    if (runs < 1 || clients < 1 || slots < 1 || warmup < 0) {
      throw new ConfigException("--runs, --clients and --slots must be at least 1, --warmup >= 0");
    }
    Path dir = Files.createTempDirectory("kiln-bench-throughput");
    Files.writeString(dir.resolve("one.yaml"), BenchRuns.fanoutYaml("bench-one", 1));
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 4);
        KilnProcess.Server server = KilnProcess.server(dir, slots)) {
      String token =
          new TokenStore(engine.db())
              .create("bench-throughput-" + System.nanoTime(), Role.OPERATOR);
      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .executor(Executors.newFixedThreadPool(clients))
              .build();
      HttpRequest post =
          HttpRequest.newBuilder(URI.create(server.url("/api/pipelines/bench-one/runs")))
              .header("Authorization", "Bearer " + token)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{}"))
              .build();
      if (warmup > 0) {
        Round w = round(engine, http, post, warmup);
        System.out.printf(
            "warm-up: %d runs, %.0f runs/min, POST p99 %.1f ms%n",
            warmup, warmup / w.seconds() * 60, Measure.percentile(w.postMs(), 99));
      }
      Round r = round(engine, http, post, runs);
      System.out.printf(
          "%d one-step runs posted by %d keep-alive clients, %d slots: %.1f s, %.0f runs/min%n",
          runs, clients, slots, r.seconds(), runs / r.seconds() * 60);
      System.out.printf(
          "POST p50 %.1f ms, p99 %.1f ms; trigger-to-finish p50 %.0f ms, p99 %.0f ms%n",
          Measure.percentile(r.postMs(), 50),
          Measure.percentile(r.postMs(), 99),
          Measure.percentile(r.triggerToFinishMs(), 50),
          Measure.percentile(r.triggerToFinishMs(), 99));
      System.out.printf(
          "sh -c true as a child process: %.2f ms median (loaded machines: compare ratios)%n",
          StepsBench.commandMillis(20));
      ProcessCeiling.Result ceiling = ProcessCeiling.measure();
      System.out.printf(
          "this machine's ceiling: %s; this run's rate is %.0f %% of it, 10,000 runs/min %.0f %%%n",
          ceiling.describe(),
          ceiling.share(runs / r.seconds()) * 100,
          ceiling.share(10_000 / 60.0) * 100);
    }
    return Main.OK;
  }

  private Round round(Engine engine, HttpClient http, HttpRequest post, int n) throws Exception {
    List<Double> postMs = Collections.synchronizedList(new ArrayList<>());
    List<Long> ids = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger left = new AtomicInteger(n);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try (Listener ended = Listener.open(engine.db(), "kiln_runs")) {
      long t0 = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        fs.add(
            pool.submit(
                () -> {
                  while (left.getAndDecrement() > 0) {
                    long p0 = System.nanoTime();
                    HttpResponse<String> r = http.send(post, HttpResponse.BodyHandlers.ofString());
                    postMs.add(Measure.millisSince(p0));
                    if (r.statusCode() != 202) {
                      throw new IllegalStateException("POST: " + r.statusCode() + " " + r.body());
                    }
                    ids.add(((Number) Json.readMap(r.body()).get("run_id")).longValue());
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      List<Long> sorted = ids.stream().sorted().toList();
      int done = 0;
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      // Runs end roughly in the order they were posted: wait for each in turn.
      while (done < sorted.size()) {
        if (engine.store().ended(sorted.get(done))) {
          done++;
          continue;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("runs did not end within 10 minutes");
        }
        ended.await(100);
      }
      double seconds = Measure.secondsSince(t0);
      List<Double> ttf = new ArrayList<>();
      for (long id : sorted) {
        RunRecord run = engine.store().run(id).orElseThrow();
        if (run.status() != RunStatus.SUCCEEDED) {
          throw new IllegalStateException("run " + id + " " + run.status().db());
        }
        ttf.add(Duration.between(run.createdAt(), run.finishedAt()).toNanos() / 1e6);
      }
      return new Round(seconds, postMs, ttf, sorted);
    } finally {
      pool.shutdownNow();
    }
  }
}
