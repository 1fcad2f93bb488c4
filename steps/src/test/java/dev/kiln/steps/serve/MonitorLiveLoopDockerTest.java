package dev.kiln.steps.serve;

import static dev.kiln.steps.serve.DeploymentDockerTest.predict;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor example's whole loop on real containers (KILN_REQUIRE_DOCKER=1: no skipping): the
 * flagship's version 1 is deployed; live traffic like the training data leaves the live monitor
 * ({@code pipelines/monitor/live.yaml}) quiet; traffic shifts, the monitor finds drift in the live
 * inputs, opens an incident, alerts and retrains; the retrained version beats production and is
 * promoted; the deployment swaps to it under steady load with no failed request.
 */
class MonitorLiveLoopDockerTest {
  static final Path REPO = TestModels.DATA.getParent().getParent().getParent();
  static final String MODEL = "breast-cancer";
  static final Duration WITHIN = Duration.ofMinutes(5);

  @TempDir Path home;
  Engine engine;
  DockerClient docker;
  WorkerRuntime.Handle worker;
  HttpServer receiver;
  final List<String> alerts = new CopyOnWriteArrayList<>();

  @BeforeEach
  void open() throws Exception {
    docker = DeploymentDockerTest.dockerWith(ModelImages.BASE);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    // Slots for the monitor, the retraining run it waits for, and that run's steps.
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "loop-worker", List.of("default"), 4, Duration.ofSeconds(30), null));
    receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext(
        "/hook",
        ex -> {
          alerts.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          ex.sendResponseHeaders(200, -1);
          ex.close();
        });
    receiver.start();
  }

  @AfterEach
  void close() {
    if (engine == null) {
      return;
    }
    Deployments.stop(MODEL, "production");
    receiver.stop(0);
    worker.close();
    engine.close();
    for (String image : List.of("kiln-model/" + MODEL + ":1", "kiln-model/" + MODEL + ":2")) {
      try {
        docker.removeImageCmd(image).withForce(true).exec();
      } catch (NotFoundException e) {
        // not built, or removed already
      }
    }
  }

  RunRecord run(Path file, String yaml, Map<String, String> params) throws Exception {
    Pipeline p =
        (yaml == null ? PipelineParser.parse(file) : PipelineParser.parse(file.toString(), yaml))
            .orThrow();
    long id = engine.runs().createRun(p, Params.bind(p, params), "manual", REPO.toString());
    RunRecord r = Pipelines.awaitEnd(engine, id, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(id)).isEqualTo(RunStatus.SUCCEEDED);
    return r;
  }

  TaskRecord step(RunRecord r, String id) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(id))
        .findFirst()
        .orElseThrow();
  }

  /** A labelled batch's rows as the model is asked: every column but the diagnosis. */
  static List<Map<String, Object>> rows(String batch) throws Exception {
    return TestModels.rows(REPO.resolve("pipelines/monitor/data/" + batch), -1);
  }

  long logged(Instant since) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        "select count(*) from prediction_log where name = ? and received_at >= ?",
                        rs -> rs.getLong(1),
                        MODEL,
                        Timestamp.from(since))
                    .orElseThrow());
  }

  RunRecord monitor(Instant since) throws Exception {
    return run(
        REPO.resolve("pipelines/monitor/live.yaml"),
        null,
        Map.of(
            "since",
            since.toString(),
            "port",
            "0",
            "webhook_url",
            "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"));
  }

  @Test
  void liveDriftAlertsRetrainsPromotesAndTheDeploymentSwapsWithNoFailedRequest() throws Exception {
    run(REPO.resolve("pipelines/flagship/flagship.yaml"), null, Map.of());
    assertThat(engine.models().lookup(MODEL, "production").orElseThrow().version()).isEqualTo(1);
    RunRecord deployed =
        run(
            home.resolve("deploy.yaml"),
            "name: ship\nsteps:\n  deploy:\n    uses: model/deploy\n"
                + "    with: { name: breast-cancer, alias: production }\n",
            Map.of());
    String url = step(deployed, "deploy").outputs().get("url");

    // Traffic like the training data: the monitor stays quiet.
    Instant calm = Instant.now();
    List<Map<String, Object>> clean = rows("clean.csv");
    for (int i = 0; i < clean.size(); i += 20) {
      HttpResponse<String> r = predict(url, clean.subList(i, Math.min(i + 20, clean.size())));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    Await.until("the clean traffic logged", WITHIN, () -> logged(calm) >= clean.size());
    RunRecord quiet = monitor(calm);
    assertThat(step(quiet, "deploy").outputs()).containsEntry("url", url);
    assertThat(step(quiet, "drift").outputs()).containsEntry("drifted", "false");
    assertThat(step(quiet, "retrain").status()).isEqualTo(StepStatus.SKIPPED);

    // The traffic shifts, and keeps coming one row per request until the swap is seen.
    Instant shift = Instant.now();
    List<Map<String, Object>> drifted = rows("drifted.csv");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger ok = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    Set<String> versions = ConcurrentHashMap.newKeySet();
    Thread load =
        new Thread(
            () -> {
              long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
              for (int i = 0; !stop.get() && System.nanoTime() < deadline; i++) {
                try {
                  HttpResponse<String> r = predict(url, List.of(drifted.get(i % drifted.size())));
                  if (r.statusCode() == 200) {
                    ok.incrementAndGet();
                    versions.add(r.headers().firstValue(PredictServer.VERSION_HEADER).orElse("?"));
                  } else {
                    failures.add(r.statusCode() + " " + r.body());
                  }
                } catch (Exception e) {
                  failures.add(e.toString());
                }
              }
            });
    load.start();
    try {
      Await.until("the drifted traffic logged", WITHIN, () -> logged(shift) >= drifted.size());
      RunRecord alarm = monitor(shift);
      assertThat(step(alarm, "drift").outputs())
          .containsEntry("drifted", "true")
          .containsEntry("incident_opened", "true");
      assertThat(step(alarm, "alert").status()).isEqualTo(StepStatus.SUCCEEDED);
      assertThat(alerts).hasSize(1);
      assertThat(alerts.get(0)).contains("live inputs drift in").contains("mean_radius");
      assertThat(step(alarm, "retrain").outputs()).containsEntry("status", "succeeded");
      List<MonitorStore.Incident> incidents =
          new MonitorStore(engine.db()).incidents("breast-cancer-live");
      assertThat(incidents).hasSize(1);
      assertThat(incidents.get(0).status()).isEqualTo("open");
      assertThat(engine.models().lookup(MODEL, "production").orElseThrow().version())
          .as("the retrained version beat production and was promoted")
          .isEqualTo(2);

      // The hosted deployment follows the alias: version 2 takes the traffic.
      Await.until("version 2 serving", WITHIN, () -> versions.contains("2"));
      int atSwap = ok.get();
      Await.until("more requests after the swap", WITHIN, () -> ok.get() > atSwap + 20);
    } finally {
      stop.set(true);
      load.join();
    }
    assertThat(failures).as("failed requests across the loop").isEmpty();
    assertThat(versions).containsExactlyInAnyOrder("1", "2");
    assertThat(new ServingStore(engine.db()).deployment(MODEL, "production").orElseThrow())
        .extracting(ServingStore.DeploymentRow::status, ServingStore.DeploymentRow::version)
        .containsExactly("serving", 2);
    System.out.println("live loop: " + ok.get() + " requests, 0 failed");
  }
}
