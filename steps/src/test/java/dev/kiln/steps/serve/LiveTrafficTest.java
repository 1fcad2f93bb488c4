package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live traffic through a deployment's proxy is logged (batched, off the request path) and read by
 * drift/check and metrics/check as their current data; late labels join on the request id, and the
 * reference metrics come from the registry. The model is served in process (no Docker needed).
 */
class LiveTrafficTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir Path home;
  @TempDir Path base;
  Engine engine;
  WorkerRuntime.Handle worker;
  PredictServer server;
  PredictionLog live;
  Proxy proxy;

  @BeforeEach
  void open() throws Exception {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "live-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
  }

  @AfterEach
  void close() {
    if (proxy != null) {
      proxy.close();
    }
    if (live != null) {
      live.close();
    }
    if (server != null) {
      server.close();
    }
    worker.close();
    engine.close();
  }

  RunRecord run(String yaml) throws Exception {
    Pipeline p = PipelineParser.parse(base.resolve("p.yaml").toString(), yaml).orThrow();
    long id = engine.runs().createRun(p, Map.of(), "manual", base.toString());
    return Pipelines.awaitEnd(engine, id, Duration.ofSeconds(120));
  }

  TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  HttpResponse<String> predict(String requestId, List<Map<String, Object>> rows) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/predict"))
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("rows", rows))));
    if (requestId != null) {
      b.header(Proxy.REQUEST_ID_HEADER, requestId);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void liveRequestsAreLoggedAndMonitorsReadThemWithRegistryReferenceMetrics() throws Exception {
    // Version 1 of bc, registered by a run whose metrics say accuracy 1.5 (so any real accuracy
    // is worse than the registered one: the check must find the reference in the registry).
    Path model = TestModels.train(base.resolve("m"), 1);
    RunRecord trained =
        run(
            """
            name: trainer
            steps:
              train:
                run: cp "%s" "$KILN_ARTIFACTS/model.bin" && echo accuracy=1.5 >> "$KILN_METRICS"
              register:
                needs: [train]
                uses: model/register
                with: { name: bc, artifact: "${{ steps.train.artifacts.model }}", alias: production }
            """
                .formatted(model));
    assertThat(trained.status()).isEqualTo(RunStatus.SUCCEEDED);

    TribuoModel loaded = TribuoModel.load(model);
    server =
        PredictServer.start(
            new ModelInfo("bc", 1, "tribuo", "x", "model.tribuo", loaded.signature(), Map.of()),
            loaded,
            "127.0.0.1",
            0);
    live = new PredictionLog(new ServingStore(engine.db()), "bc", "production");
    proxy = Proxy.start("127.0.0.1", 0, live.tap());
    proxy.switchTo(new ServingContainers.Running("in-process", "127.0.0.1", server.port(), 1));

    List<Map<String, Object>> rows = TestModels.rows(40);
    List<String> labels = Files.readAllLines(TestModels.DATA);
    int diagnosis = List.of(labels.get(0).split(",")).indexOf("diagnosis");
    StringBuilder labelCsv = new StringBuilder("id,label\n");
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> r = predict("req-" + i, List.of(rows.get(i)));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue(Proxy.REQUEST_ID_HEADER)).hasValue("req-" + i);
      labelCsv.append("req-").append(i).append(',');
      labelCsv.append(labels.get(i + 1).split(",")[diagnosis]).append('\n');
    }
    // A request without an id gets one; a batch of 10 rows is logged as 10 rows.
    HttpResponse<String> batch = predict(null, rows.subList(30, 40));
    assertThat(batch.headers().firstValue(Proxy.REQUEST_ID_HEADER)).isPresent();
    // A bad request (400) is not live traffic.
    assertThat(predict("bad", List.of(Map.of("nope", 1))).statusCode()).isEqualTo(400);
    Await.until("40 rows logged", Duration.ofSeconds(30), () -> live.logged() == 40);
    assertThat(live.dropped()).isZero();

    Path inputs = base.resolve("inputs.csv");
    LiveTraffic.Window all =
        new LiveTraffic.Window(new LiveTraffic.Ref("bc", "production"), Instant.EPOCH);
    assertThat(LiveTraffic.inputs(engine.db(), all, inputs)).isEqualTo(40);
    assertThat(Files.readAllLines(inputs).get(0)).startsWith("mean_radius,mean_texture");
    Path predictions = base.resolve("predictions.csv");
    LiveTraffic.predictions(engine.db(), all, "malignant", predictions);
    List<String> lines = Files.readAllLines(predictions);
    assertThat(lines.get(1)).startsWith("req-0,");
    assertThat(lines.get(40)).matches("[0-9a-f-]{36}:9,(benign|malignant),[0-9.E-]+,1,.*");

    Files.writeString(base.resolve("labels.csv"), labelCsv);
    // The reference inside the run's folder: built-in steps read only there (docs/security.md).
    Files.copy(TestModels.DATA, base.resolve("reference.csv"));
    RunRecord checked =
        run(
            """
            name: monitor
            steps:
              drift:
                uses: drift/check
                with: { reference: reference.csv, live: bc@production, since: 1h }
              perf:
                uses: metrics/check
                with: { live: bc@production, labels: labels.csv, positive: malignant, tolerance: 0.01 }
            """);
    assertThat(checked.status())
        .as("%s", engine.store().tasks(checked.id()))
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(checked, "drift").outputs()).containsKey("share_drifted");
    Map<String, String> perf = task(checked, "perf").outputs();
    assertThat(perf)
        .containsEntry("matched", "30")
        .containsEntry("unlabeled", "10")
        .containsEntry("degraded", "true");
    assertThat(perf.get("degraded_metrics")).contains("accuracy");
  }

  @Test
  void aWindowWithoutTrafficOrABadSinceIsAClearError() throws Exception {
    Files.writeString(base.resolve("ref.csv"), "a\n1\n2\n");
    RunRecord r =
        run(
            """
            name: quiet
            steps:
              none: { uses: drift/check, with: { reference: ref.csv, live: bc@production } }
              bad: { uses: drift/check, with: { reference: ref.csv, live: bc@production, since: soon } }
              both: { uses: drift/check, with: { reference: ref.csv, current: ref.csv, live: bc@production } }
            """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "none").error()).contains("no live traffic of bc@production");
    assertThat(task(r, "bad").error()).contains("since: 'soon' is neither an ISO-8601 time");
    assertThat(task(r, "both").error()).contains("give either current (a file) or live");
  }

  @Test
  void aFullQueueDropsRequestsFromTheLogInsteadOfDelayingThem() {
    try (PredictionLog small =
        new PredictionLog(new ServingStore(engine.db()), "bc", "production", 10, 1024)) {
      PredictionLog.Served big =
          new PredictionLog.Served(1, "r", Instant.now(), new byte[2048], new byte[0]);
      assertThat(small.offer(big)).isFalse();
      assertThat(small.dropped()).isEqualTo(1);
      PredictionLog.Served fits =
          new PredictionLog.Served(1, "r", Instant.now(), new byte[512], new byte[0]);
      assertThat(small.offer(fits)).isTrue();
    }
  }

  @Test
  void sinceReadsTimesAndSpansBack() {
    Instant now = Instant.parse("2026-11-30T12:00:00Z");
    assertThat(LiveTraffic.since("24h", now)).isEqualTo(Instant.parse("2026-11-29T12:00:00Z"));
    assertThat(LiveTraffic.since("30m", now)).isEqualTo(Instant.parse("2026-11-30T11:30:00Z"));
    assertThat(LiveTraffic.since("2026-11-01T00:00:00Z", now))
        .isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
    assertThat(LiveTraffic.since(null, now)).isEqualTo(Instant.EPOCH);
  }
}
