package dev.kiln.bench;

import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunEvent;
import dev.kiln.engine.trigger.WebhookAuth;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "webhook",
    mixinStandardHelpOptions = true,
    description = {
      "Measure webhook latency: signed request sent to first step running.",
      "Starts a kiln server in this process on loopback port 0 with a one-step",
      "pipeline, sends --warmup then --deliveries signed deliveries one after the",
      "other, and for each reads the time of the step's 'running' event. Prints the",
      "median, p90, p99 and max, and the HTTP round trip. See docs/benchmarks.md."
    })
final class WebhookBench implements Callable<Integer> {
  @Option(
      names = "--deliveries",
      defaultValue = "200",
      description = "measured deliveries (default ${DEFAULT-VALUE})")
  int deliveries;

  @Option(
      names = "--warmup",
      defaultValue = "20",
      description = "unmeasured deliveries first (default ${DEFAULT-VALUE})")
  int warmup;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "in-process worker slots (default ${DEFAULT-VALUE})")
  int slots;

  @Override
  public Integer call() throws Exception {
    if (deliveries < 1 || warmup < 0 || slots < 1) {
      throw new ConfigException("--deliveries and --slots must be at least 1, --warmup at least 0");
    }
    Path dir = Files.createTempDirectory("kiln-bench-webhook");
    Files.writeString(
        dir.resolve("bench.yaml"),
        """
        name: bench-webhook
        params:
          n: { type: integer, default: 0 }
        triggers:
          - webhook: { path: bench, secret_env: KILN_BENCH_SECRET, params: { n: "${{ body.n }}" } }
        steps:
          hello:
            run: "true"
        """);
    String secret = "bench-secret";
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("KILN_BENCH_SECRET", secret);
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 24);
        KilnServer server =
            new KilnServer(
                engine, new KilnServer.Options("127.0.0.1", 0, dir, slots, env), System.err)) {
      server.start();
      System.err.println(server.listening());
      String hook = "http://127.0.0.1:" + server.port() + "/hooks/bench";
      HttpClient http = HttpClient.newHttpClient();
      List<Double> toRunning = new ArrayList<>();
      List<Double> roundTrip = new ArrayList<>();
      for (int i = 0; i < warmup + deliveries; i++) {
        byte[] body = ("{\"n\": " + i + "}").getBytes(StandardCharsets.UTF_8);
        HttpRequest req =
            HttpRequest.newBuilder(URI.create(hook))
                .header("X-Hub-Signature-256", WebhookAuth.sign(secret, body))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        Instant sent = Instant.now();
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        double rtt = Measure.millisSince(t0);
        if (r.statusCode() != 202) {
          throw new IllegalStateException(
              "delivery " + i + " got " + r.statusCode() + ": " + r.body());
        }
        long runId = Json.MAPPER.readTree(r.body()).get("run_id").asLong();
        Instant running = waitForRunning(engine, runId);
        if (i >= warmup) {
          toRunning.add(Duration.between(sent, running).toNanos() / 1e6);
          roundTrip.add(rtt);
        }
      }
      System.out.printf(
          "webhook -> first step running, %d deliveries: median %.1f ms, p90 %.1f ms,"
              + " p99 %.1f ms, max %.1f ms%n",
          deliveries,
          Measure.percentile(toRunning, 50),
          Measure.percentile(toRunning, 90),
          Measure.percentile(toRunning, 99),
          Measure.percentile(toRunning, 100));
      System.out.printf(
          "HTTP round trip (202 received): median %.1f ms, p99 %.1f ms%n",
          Measure.percentile(roundTrip, 50), Measure.percentile(roundTrip, 99));
    }
    return Main.OK;
  }

  private static Instant waitForRunning(Engine engine, long runId) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    long seen = 0;
    while (System.nanoTime() < deadline) {
      for (RunEvent e : engine.store().events(runId, seen)) {
        if (e.stepId() != null && e.status().equals("running")) {
          return e.at();
        }
        seen = e.id();
      }
      Thread.sleep(1);
    }
    throw new IllegalStateException("run " + runId + " did not start its step within 30s");
  }
}
