package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What scraping /metrics costs the work: step throughput of a server with and without a scraper
 * asking every second, rounds interleaved on one server and database.
 */
@Command(
    name = "api",
    mixinStandardHelpOptions = true,
    description = {
      "Measure the overhead of scraping GET /metrics every second on step throughput.",
      "Starts a kiln server in this process on loopback port 0, then runs --rounds",
      "pairs of runs of a pipeline of --steps independent 'true' tasks (matrix steps",
      "over --step-names step names): one run with a scraper asking /metrics every",
      "--every ms (viewer token, whole body read) and one without, alternating which",
      "goes first. Prints steps/s of each, the median overhead and the scrape time.",
      "See docs/benchmarks.md."
    })
final class ApiBench implements Callable<Integer> {
  @Option(
      names = "--steps",
      defaultValue = "300",
      description = "steps per run (default ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--step-names",
      defaultValue = "10",
      description =
          "distinct steps the tasks are spread over, as matrix steps (default ${DEFAULT-VALUE});"
              + " each is one label value of kiln_step_duration_seconds")
  int names;

  @Option(
      names = "--rounds",
      defaultValue = "5",
      description = "pairs of runs, with and without scraping (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "in-process worker slots (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--every",
      defaultValue = "1000",
      description = "scrape interval in ms (default ${DEFAULT-VALUE})")
  int everyMs;

  @Override
  public Integer call() throws Exception {
    if (steps < 1 || rounds < 1 || slots < 1 || names < 1 || everyMs < 10) {
      throw new ConfigException(
          "--steps, --step-names, --rounds and --slots must be at least 1, --every at least 10");
    }
    int perName = (steps + names - 1) / names;
    if (perName > 256) {
      throw new ConfigException(
          "--steps / --step-names must be at most 256 (a matrix step's limit), got " + perName);
    }
    steps = perName * names;
    Path dir = Files.createTempDirectory("kiln-bench-api");
    StringBuilder yaml = new StringBuilder("name: bench-api\nsteps:\n");
    List<String> values = new ArrayList<>();
    for (int i = 0; i < perName; i++) {
      values.add(String.valueOf(i));
    }
    for (int j = 0; j < names; j++) {
      yaml.append("  s")
          .append(j)
          .append(": { matrix: { i: [")
          .append(String.join(", ", values))
          .append("] }, run: \"true\" }\n");
    }
    Pipeline p = PipelineParser.parse("bench-api.yaml", yaml.toString()).orThrow();
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 24);
        KilnServer server =
            new KilnServer(
                engine,
                new KilnServer.Options("127.0.0.1", 0, dir, slots, System.getenv()),
                System.err)) {
      server.start();
      System.err.println(server.listening());
      String token =
          new TokenStore(engine.db()).create("bench-api-" + System.nanoTime(), Role.VIEWER);
      HttpRequest scrape =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
              .header("Authorization", "Bearer " + token)
              .GET()
              .build();
      HttpClient http = HttpClient.newHttpClient();
      List<Double> scrapeMs = new ArrayList<>();
      // Warm up the JVM, the pool and the metrics (the first scrape registers the JVM meters).
      runOnce(engine, p, dir);
      http.send(scrape, HttpResponse.BodyHandlers.ofString());
      List<Double> without = new ArrayList<>();
      List<Double> with = new ArrayList<>();
      List<Double> overheads = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        double a;
        double b;
        if (r % 2 == 0) {
          a = runOnce(engine, p, dir);
          b = scraped(engine, p, dir, http, scrape, scrapeMs);
        } else {
          b = scraped(engine, p, dir, http, scrape, scrapeMs);
          a = runOnce(engine, p, dir);
        }
        without.add(a);
        with.add(b);
        overheads.add((a - b) / a * 100);
        System.out.printf(
            "round %d: %.1f steps/s without scraping, %.1f with (%+.1f %%)%n",
            r + 1, a, b, (a - b) / a * 100);
      }
      System.out.printf(
          "%d steps (%d step names) x %d rounds, %d slots, /metrics every %d ms: median %.1f steps/s without,"
              + " %.1f with; median overhead %.1f %%; scrape median %.1f ms, max %.1f ms"
              + " (%d scrapes)%n",
          steps,
          names,
          rounds,
          slots,
          everyMs,
          Measure.median(without),
          Measure.median(with),
          Measure.median(overheads),
          Measure.median(scrapeMs),
          Measure.percentile(scrapeMs, 100),
          scrapeMs.size());
    }
    return Main.OK;
  }

  /** One run with the scraper going; returns steps per second. */
  private double scraped(
      Engine engine,
      Pipeline p,
      Path dir,
      HttpClient http,
      HttpRequest scrape,
      List<Double> scrapeMs)
      throws Exception {
    ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor();
    List<Double> times = new ArrayList<>();
    scraper.scheduleAtFixedRate(
        () -> {
          try {
            long t0 = System.nanoTime();
            HttpResponse<String> r = http.send(scrape, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
              throw new IllegalStateException("GET /metrics: " + r.statusCode() + " " + r.body());
            }
            synchronized (times) {
              times.add(Measure.millisSince(t0));
            }
          } catch (Exception e) {
            System.err.println("scrape failed: " + e.getMessage());
          }
        },
        0,
        everyMs,
        TimeUnit.MILLISECONDS);
    try {
      return runOnce(engine, p, dir);
    } finally {
      scraper.shutdown();
      scraper.awaitTermination(10, TimeUnit.SECONDS);
      synchronized (times) {
        scrapeMs.addAll(times);
      }
    }
  }

  /** One run of the pipeline by the server's workers, start to end; returns steps per second. */
  private double runOnce(Engine engine, Pipeline p, Path dir) throws InterruptedException {
    long t0 = System.nanoTime();
    long runId = engine.runs().createRun(p, Map.of(), "bench", dir.toString());
    long deadline = t0 + 600_000_000_000L;
    while (!engine.store().ended(runId)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("run " + runId + " did not end within 10 minutes");
      }
      Thread.sleep(5);
    }
    double s = Measure.secondsSince(t0);
    String status = engine.store().run(runId).orElseThrow().status().db();
    if (!status.equals("succeeded")) {
      throw new IllegalStateException("run " + runId + " " + status);
    }
    return steps / s;
  }
}
