package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.steps.serve.LocalServing;
import dev.kiln.steps.serve.SklearnServing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench serve}: the predict API's latency and throughput on loopback for the flagship
 * model, layer by layer: the model called in process (the floor), the predict server, a
 * deployment's proxy in front of it, and the same proxy logging every request to the store.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Measure POST /predict: p50/p99 latency (1 row and batches) and requests/s.",
      "Trains the flagship model (train/tribuo), then serves it in this process:",
      "the model called directly (the floor), the predict server, a deployment's",
      "proxy in front of it, and that proxy with the live traffic log. Then, on the",
      "Docker engine, the scikit-learn flavour: a model trained in kiln/python-ml:1,",
      "deployed (its container, and the deployment's proxy in front), against",
      "scikit-learn's own predict on the same rows in that image.",
      "See docs/benchmarks.md."
    })
final class ServeBench implements Callable<Integer> {
  @Option(
      names = "--data",
      defaultValue = "pipelines/flagship/breast_cancer.csv",
      description = "the training CSV, relative to this folder (default ${DEFAULT-VALUE})")
  Path data;

  @Option(
      names = "--requests",
      defaultValue = "2000",
      description = "timed requests per measurement (default ${DEFAULT-VALUE})")
  int requests;

  @Option(
      names = "--batch",
      defaultValue = "100",
      description = "rows per request in the batch measurement (default ${DEFAULT-VALUE})")
  int batch;

  @Option(
      names = "--clients",
      defaultValue = "4",
      description = "concurrent clients for requests/s (default ${DEFAULT-VALUE})")
  int clients;

  @Option(
      names = "--sklearn",
      negatable = true,
      defaultValue = "true",
      description = "measure the scikit-learn flavour on the Docker engine (--no-sklearn: not)")
  boolean sklearn;

  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Override
  public Integer call() throws Exception {
    if (requests < 10 || batch < 1 || clients < 1) {
      System.err.println("kiln: --requests must be at least 10, --batch and --clients at least 1");
      return 2;
    }
    if (!Files.isRegularFile(data)) {
      System.err.println("kiln: --data " + data + " is not a file");
      return 2;
    }
    KilnConfig config = KilnConfig.fromEnvironment();
    try (Engine engine = new Engine(config, Database.open(config, 6));
        WorkerRuntime.Handle worker =
            WorkerRuntime.load()
                .start(
                    engine,
                    new WorkerRuntime.Options(
                        "bench-serve", List.of("default"), 1, Duration.ofSeconds(30), null))) {
      Pipeline p =
          BenchRuns.parse(
              """
              name: bench-serve
              steps:
                train:
                  uses: train/tribuo
                  with: { data: "%s", target: diagnosis, positive: malignant, epochs: 3 }
                register:
                  needs: [train]
                  uses: model/register
                  with: { name: bench-serve, artifact: "${{ steps.train.artifacts.model }}" }
              """
                  .formatted(data));
      BenchRuns.runToEnd(engine, p);
      List<ModelVersion> versions = engine.models().versions("bench-serve");
      ModelVersion v = versions.get(versions.size() - 1);
      Path model = engine.artifacts().path(v.artifactSha256());
      try (LocalServing s = LocalServing.start(model, "bench-serve", engine.db())) {
        List<Map<String, Object>> rows = rows(data, s.columns(), batch);
        String one = Json.write(Map.of("rows", rows.subList(0, 1)));
        String many = Json.write(Map.of("rows", rows));
        // Warm up every path (JIT, connections) before anything is timed.
        for (int i = 0; i < Math.min(500, requests); i++) {
          s.predictInProcess(rows.subList(0, 1));
          for (String url : List.of(s.serverUrl(), s.proxyUrl(), s.loggingProxyUrl())) {
            post(url, one);
          }
        }
        System.out.printf(
            Locale.ROOT,
            "%-22s %12s %12s %12s %12s %10s%n",
            "path",
            "1 row p50",
            "1 row p99",
            batch + " rows p50",
            batch + " rows p99",
            "req/s");
        List<Double> single =
            Measure.millis(requests, () -> s.predictInProcess(rows.subList(0, 1)));
        List<Double> batched = Measure.millis(requests / 10, () -> s.predictInProcess(rows));
        line("model in process", single, batched, Double.NaN);
        Map<String, String> urls = new LinkedHashMap<>();
        urls.put("predict server", s.serverUrl());
        urls.put("deployment proxy", s.proxyUrl());
        urls.put("proxy + live log", s.loggingProxyUrl());
        for (var e : urls.entrySet()) {
          String url = e.getValue();
          line(
              e.getKey(),
              Measure.millis(requests, () -> post(url, one)),
              Measure.millis(requests / 10, () -> post(url, many)),
              throughput(url, one));
        }
        System.out.printf(
            Locale.ROOT,
            "live log: %d rows written, %d requests dropped%n",
            s.logged(),
            s.dropped());
      }
      if (sklearn) {
        scikitLearn(engine);
      }
    }
    return 0;
  }

  /**
   * The scikit-learn lines: its own predict in kiln/python-ml:1 (the floor), the model's container
   * and the deployment's proxy in front of it, on the same rows; p50 ratios to the floor.
   */
  private void scikitLearn(Engine engine) throws Exception {
    Optional<String> why = SklearnServing.unavailable();
    if (why.isPresent()) {
      System.out.println("scikit-learn: not measured: " + why.get());
      return;
    }
    try (SklearnServing s =
        SklearnServing.start(engine, data, "diagnosis", "bench-serve-sklearn", batch, requests)) {
      List<String> columns = new ArrayList<>(List.of(Files.readAllLines(data).get(0).split(",")));
      columns.remove("diagnosis");
      List<Map<String, Object>> rows = rows(data, columns, batch);
      String one = Json.write(Map.of("rows", rows.subList(0, 1)));
      String many = Json.write(Map.of("rows", rows));
      for (int i = 0; i < Math.min(500, requests); i++) {
        post(s.containerUrl(), one);
        post(s.deploymentUrl(), one);
      }
      SklearnServing.Floor floor = s.floor();
      line("scikit-learn predict", floor.oneRow(), floor.batch(), Double.NaN);
      Map<String, List<List<Double>>> measured = new LinkedHashMap<>();
      Map<String, String> urls = new LinkedHashMap<>();
      urls.put("sklearn container", s.containerUrl());
      urls.put("sklearn deployment", s.deploymentUrl());
      for (var e : urls.entrySet()) {
        String url = e.getValue();
        List<Double> single = Measure.millis(requests, () -> post(url, one));
        List<Double> batched = Measure.millis(requests / 10, () -> post(url, many));
        line(e.getKey(), single, batched, throughput(url, one));
        measured.put(e.getKey(), List.of(single, batched));
      }
      StringBuilder ratios = new StringBuilder("p50 / scikit-learn's own predict (1 row, ");
      ratios.append(batch).append(" rows):");
      measured.forEach(
          (what, m) ->
              ratios.append(
                  " "
                      + what.substring("sklearn ".length())
                      + " "
                      + Measure.ratio(
                          Measure.percentile(m.get(0), 50), Measure.percentile(floor.oneRow(), 50))
                      + "x, "
                      + Measure.ratio(
                          Measure.percentile(m.get(1), 50), Measure.percentile(floor.batch(), 50))
                      + "x;"));
      System.out.println(ratios.substring(0, ratios.length() - 1));
    }
  }

  private static void line(String what, List<Double> one, List<Double> many, double perSecond) {
    System.out.printf(
        Locale.ROOT,
        "%-22s %9.3f ms %9.3f ms %9.3f ms %9.3f ms %10s%n",
        what,
        Measure.percentile(one, 50),
        Measure.percentile(one, 99),
        Measure.percentile(many, 50),
        Measure.percentile(many, 99),
        Double.isNaN(perSecond) ? "-" : String.format(Locale.ROOT, "%.0f", perSecond));
  }

  /** Single-row requests/s with {@code clients} threads sending {@code requests} in all. */
  private double throughput(String url, String body) throws Exception {
    AtomicInteger left = new AtomicInteger(requests);
    List<Thread> threads = new ArrayList<>();
    List<Exception> failed = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < clients; i++) {
      Thread t =
          new Thread(
              () -> {
                try {
                  while (left.getAndDecrement() > 0) {
                    post(url, body);
                  }
                } catch (Exception e) {
                  synchronized (failed) {
                    failed.add(e);
                  }
                }
              });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!failed.isEmpty()) {
      throw failed.get(0);
    }
    return requests / Measure.secondsSince(t0);
  }

  private static void post(String url, String body) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url + "/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(
          url + "/predict answered " + r.statusCode() + ": " + r.body());
    }
  }

  /** The first n rows of the CSV as JSON rows of the model's columns (numbers). */
  private static List<Map<String, Object>> rows(Path csv, List<String> columns, int n)
      throws Exception {
    List<String> lines = Files.readAllLines(csv);
    List<String> header = List.of(lines.get(0).split(","));
    List<Map<String, Object>> out = new ArrayList<>();
    for (int i = 1; out.size() < n; i = i % (lines.size() - 1) + 1) {
      String[] v = lines.get(i).split(",");
      Map<String, Object> row = new LinkedHashMap<>();
      for (String c : columns) {
        row.put(c, Double.parseDouble(v[header.indexOf(c)]));
      }
      out.add(row);
    }
    return out;
  }
}
