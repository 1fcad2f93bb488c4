package dev.kiln.steps.monitor;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import dev.kiln.workers.Pipelines;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitoring loop end to end on a real PostgreSQL, real worker and real HTTP: the example
 * monitor finds drift in the breast-cancer batch, alerts a local receiver and starts the retraining
 * pipeline once per incident; a clean batch closes the incident.
 */
class MonitorLoopTest {
  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final Path MONITOR = REPO.resolve("pipelines/monitor/monitor.yaml");
  static final Duration WITHIN = Duration.ofSeconds(90);

  @TempDir Path home;
  TestDb.Url url;
  Engine engine;
  WorkerRuntime.Handle worker;
  HttpServer receiver;
  final List<String> received = new CopyOnWriteArrayList<>();
  final AtomicInteger failFirst = new AtomicInteger();
  final AtomicInteger refused = new AtomicInteger();

  @BeforeEach
  void open() throws IOException {
    url = TestDb.freshUrl();
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(url.url(), url.user(), url.password(), 10));
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "test-worker", List.of("default"), 4, Duration.ofSeconds(10), null));
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext(
        "/hook",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          int status = failFirst.getAndDecrement() > 0 ? 503 : 200;
          if (status == 200) {
            received.add(body);
          }
          ex.sendResponseHeaders(status, -1);
          ex.close();
        });
    receiver.createContext(
        "/refuse",
        ex -> {
          refused.incrementAndGet();
          ex.sendResponseHeaders(400, -1);
          ex.close();
        });
    receiver.start();
  }

  @AfterEach
  void close() {
    receiver.stop(0);
    worker.close();
    engine.close();
  }

  String hook() {
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
  }

  long monitor(String batch) throws Exception {
    Pipeline p = PipelineParser.parse(MONITOR).orThrow();
    long run =
        engine
            .runs()
            .createRun(
                p,
                Params.bind(
                    p, Map.of("current", "pipelines/monitor/data/" + batch, "webhook_url", hook())),
                "manual",
                REPO.toString());
    RunRecord r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    return run;
  }

  TaskRecord step(long run, String id) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(id))
        .findFirst()
        .orElseThrow();
  }

  List<RunRecord> retrainRuns() {
    return engine.store().runs("breast-cancer", 10);
  }

  @Test
  void driftAlertsOnceAndStartsRetrainingOncePerIncidentUntilACleanCheckClosesIt()
      throws Exception {
    failFirst.set(1); // the receiver is briefly down: the alert is retried, still sent once

    long first = monitor("drifted.csv");
    assertThat(step(first, "drift").outputs())
        .containsEntry("drifted", "true")
        .containsEntry("incident_opened", "true");
    assertThat(step(first, "alert").status()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(step(first, "alert").outputs()).containsEntry("attempts", "2");
    assertThat(step(first, "retrain").outputs()).containsEntry("status", "succeeded");
    assertThat(received).hasSize(1);
    Map<String, Object> alert = Json.readMap(received.get(0));
    assertThat(alert.get("monitor")).isEqualTo("breast-cancer");
    assertThat((String) alert.get("message")).contains("drift in").contains("mean_radius");
    assertThat(retrainRuns()).hasSize(1);
    RunRecord retrain = retrainRuns().get(0);
    assertThat(retrain.trigger()).isEqualTo("drift");
    assertThat(retrain.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(step(first, "retrain").outputs())
        .containsEntry("run_id", String.valueOf(retrain.id()));

    long second = monitor("drifted.csv");
    assertThat(step(second, "drift").outputs())
        .containsEntry("drifted", "true")
        .containsEntry("incident_opened", "false");
    assertThat(step(second, "alert").status()).isEqualTo(StepStatus.SKIPPED);
    assertThat(step(second, "retrain").status()).isEqualTo(StepStatus.SKIPPED);
    assertThat(received).hasSize(1);
    assertThat(retrainRuns()).hasSize(1);

    long third = monitor("clean.csv");
    assertThat(step(third, "drift").outputs())
        .containsEntry("drifted", "false")
        .containsEntry("incident_closed", "true");
    assertThat(retrainRuns()).hasSize(1);

    MonitorStore store = new MonitorStore(engine.db());
    List<MonitorStore.Incident> incidents = store.incidents("breast-cancer");
    assertThat(incidents).hasSize(1);
    assertThat(incidents.get(0).status()).isEqualTo("closed");
    assertThat(incidents.get(0).checks()).isEqualTo(2);
    assertThat(incidents.get(0).openedByRun()).isEqualTo(first);
    List<MonitorStore.HistoryRow> history = store.history("breast-cancer", 10);
    assertThat(history)
        .extracting(MonitorStore.HistoryRow::runId)
        .containsExactly(third, second, first);
    assertThat(history)
        .extracting(MonitorStore.HistoryRow::alarm)
        .containsExactly(false, true, true);
    assertThat(history.get(2).values())
        .extracting(MonitorStore.Value::name)
        .contains("mean_radius", "diagnosis");

    // The trend, as a user sees it through the real CLI in its own JVM.
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", url.url(), "KILN_DB_USER", url.user()),
            home);
    Kiln.Result h =
        kiln.run("monitor", "history", "breast-cancer", "--column", "mean_radius", "--json");
    assertThat(h.exit()).as(h.err()).isZero();
    Map<String, Object> json = Json.readMap(h.out());
    assertThat((List<?>) json.get("reports")).hasSize(3);
    assertThat((List<?>) json.get("incidents")).hasSize(1);
    Kiln.Result text = kiln.run("monitor", "history", "breast-cancer");
    assertThat(text.out()).contains("DRIFT").contains("mean_radius").contains("closed");
  }

  @Test
  void slackBodyPipelineByNameAndBadInputsFailTheirStepWithOneLine() throws Exception {
    // 'chained' is then found by name, because Kiln has run it before.
    Pipeline chainedPipeline =
        Pipelines.parse(
            """
        name: chained
        params: { who: { type: string, default: nobody } }
        steps:
          hello: { run: 'echo "hi=${{ params.who }}" >> "$KILN_OUTPUTS"' }
        """);
    awaitEnd(
        engine,
        engine
            .runs()
            .createRun(chainedPipeline, Params.bind(chainedPipeline, Map.of()), "manual", null),
        WITHIN);
    long run =
        engine
            .runs()
            .createRun(
                Pipelines.parse(
                    """
        name: notify-and-chain
        steps:
          slack:
            uses: notify/webhook
            with: { url: "%s", slack: true, message: "model drifted", backoff: 10ms }
          refused:
            uses: notify/webhook
            continue_on_error: true
            with: { url: "%s", retries: 5, backoff: 10ms }
          chain:
            uses: pipeline/run
            with: { pipeline: chained, wait: true, params: { who: kiln } }
          no-batch:
            uses: drift/check
            continue_on_error: true
            with: { reference: pipelines/monitor/data/reference.csv, current: no/such.csv }
          no-pipeline:
            uses: pipeline/run
            continue_on_error: true
            with: { pipeline: retrain-everything }
        """
                        .formatted(hook(), hook().replace("/hook", "/refuse"))),
                Map.of(),
                "manual",
                REPO.toString());
    RunRecord r = awaitEnd(engine, run, WITHIN);
    assertThat(step(run, "no-batch").error())
        .isEqualTo(
            "drift/check: with.current: path 'no/such.csv' does not exist (looked at "
                + REPO.resolve("no/such.csv")
                + ")");
    assertThat(step(run, "no-pipeline").error())
        .startsWith("pipeline/run: with.pipeline: " + "'retrain-everything' is neither a file");
    assertThat(received).contains("{\"text\":\"model drifted\"}");
    assertThat(step(run, "refused").status()).isEqualTo(StepStatus.FAILED);
    assertThat(step(run, "refused").error()).endsWith("/refuse failed: HTTP 400");
    assertThat(refused.get()).as("a 4xx is not retried").isEqualTo(1);
    assertThat(engine.store().runs("chained", 10)).hasSize(2);
    assertThat(step(run, "chain").status())
        .as(step(run, "chain").error())
        .isEqualTo(StepStatus.SUCCEEDED);
    long chained = Long.parseLong(step(run, "chain").outputs().get("run_id"));
    assertThat(step(chained, "hello").outputs()).containsEntry("hi", "kiln");
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
  }
}
