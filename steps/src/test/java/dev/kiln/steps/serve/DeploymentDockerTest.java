package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.StepPaths;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.TaskSpec;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images and deployments against the real Docker engine (KILN_REQUIRE_DOCKER=1: no skipping). */
class DeploymentDockerTest {
  static final boolean REQUIRED = "1".equals(System.getenv("KILN_REQUIRE_DOCKER"));
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path home;
  Engine engine;
  DockerClient docker;
  final List<String> images = new ArrayList<>();

  @BeforeEach
  void open() {
    docker = dockerWith(ModelImages.BASE);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
  }

  /**
   * The Docker engine, when it answers and has image; otherwise the test is skipped (failed under
   * KILN_REQUIRE_DOCKER=1).
   */
  static DockerClient dockerWith(String image) {
    String problem = null;
    DockerClient docker = null;
    try {
      docker = Docker.connect();
      docker.inspectImageCmd(image).exec();
    } catch (Docker.Unavailable e) {
      problem = e.getMessage();
    } catch (NotFoundException e) {
      problem = "image " + image + " is missing; build it with deploy/images/build.sh";
    }
    if (problem != null) {
      if (REQUIRED) {
        fail("KILN_REQUIRE_DOCKER=1 but " + problem);
      }
      assumeTrue(false, "no Docker here: " + problem);
    }
    return docker;
  }

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
    for (String image : images) {
      try {
        docker.removeImageCmd(image).withForce(true).exec();
      } catch (NotFoundException e) {
        // removed already
      }
    }
  }

  /** A model name no other test run uses, so images built here are this test's to remove. */
  String uniqueName() {
    return "bc-" + Long.toHexString(System.nanoTime());
  }

  static HttpResponse<String> predict(String base, List<Map<String, Object>> rows)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base + "/predict"))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(
                HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("rows", rows))))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void packageBuildsALabelledImageWhoseContainerServesPredictions() throws Exception {
    String name = uniqueName();
    ModelVersion v = Models.register(engine, home.resolve("m"), name, 1, "production");
    ModelImages.Built built = PackageCommand.packageImage(engine, docker, name + "@production");
    images.add(built.image());
    assertThat(built.image()).isEqualTo("kiln-model/" + name + ":1");
    Map<String, String> labels =
        docker.inspectImageCmd(built.image()).exec().getConfig().getLabels();
    assertThat(labels)
        .containsEntry(ModelImages.LABEL_NAME, name)
        .containsEntry(ModelImages.LABEL_VERSION, "1")
        .containsEntry(ModelImages.LABEL_SHA256, v.artifactSha256())
        .containsEntry(ModelImages.LABEL_FLAVOUR, "tribuo")
        .containsKey(ModelImages.LABEL_LINEAGE);
    assertThat(new ServingStore(engine.db()).imageIds(name, 1)).containsExactly(built.imageId());
    assertThat(PackageCommand.packageImage(engine, docker, name + "@1").reused()).isTrue();

    ServingContainers.Running c =
        ServingContainers.start(docker, built.imageId(), name, "production", 1);
    try {
      c = ServingContainers.awaitHealthy(docker, c, Duration.ofSeconds(120));
      HttpResponse<String> r = predict(c.url(), TestModels.rows(3));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue(PredictServer.VERSION_HEADER)).hasValue("1");
      assertThat(r.body()).contains("\"predictions\":[\"malignant\"");
    } finally {
      ServingContainers.remove(docker, c.id());
    }
  }

  @Test
  void whenTheAliasMovesTrafficSwitchesWithNoFailedRequest() throws Exception {
    String name = uniqueName();
    Models.register(engine, home.resolve("m"), name, 1, "production");
    Models.register(engine, home.resolve("m"), name, 2, null);
    images.add("kiln-model/" + name + ":1");
    images.add("kiln-model/" + name + ":2");
    List<String> log = new ArrayList<>();
    try (Deployment d =
        Deployment.open(
            engine,
            docker,
            name,
            "production",
            "127.0.0.1",
            0,
            Duration.ofSeconds(120),
            log::add)) {
      assertThat(d.follow()).isEqualTo(1);
      String oldContainer =
          new ServingStore(engine.db()).deployment(name, "production").orElseThrow().containerId();
      List<Map<String, Object>> row = TestModels.rows(1);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger ok = new AtomicInteger();
      List<String> failures = new ArrayList<>();
      Set<String> versions = ConcurrentHashMap.newKeySet();
      Thread load =
          new Thread(
              () -> {
                // Until told to stop: version 2's image may take minutes to build on a loaded
                // machine, and the load must still run across the swap.
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
                while (!stop.get() && System.nanoTime() < deadline) {
                  try {
                    HttpResponse<String> r = predict(d.url(), row);
                    if (r.statusCode() == 200) {
                      ok.incrementAndGet();
                      versions.add(
                          r.headers().firstValue(PredictServer.VERSION_HEADER).orElse("?"));
                    } else {
                      synchronized (failures) {
                        failures.add(r.statusCode() + " " + r.body());
                      }
                    }
                  } catch (Exception e) {
                    synchronized (failures) {
                      failures.add(e.toString());
                    }
                  }
                }
              });
      load.start();
      Await.until("requests served by version 1", Duration.ofSeconds(30), () -> ok.get() > 10);
      engine.models().promote(name, 2, "production", "test", "better");
      assertThat(d.follow()).isEqualTo(2);
      int atSwap = ok.get();
      Await.until(
          "requests served by version 2",
          Duration.ofSeconds(30),
          () -> versions.contains("2") && ok.get() > atSwap + 20);
      stop.set(true);
      load.join();
      assertThat(failures).as("failed requests during the swap").isEmpty();
      assertThat(versions).containsExactlyInAnyOrder("1", "2");
      assertThat(new ServingStore(engine.db()).deployment(name, "production").orElseThrow())
          .extracting(ServingStore.DeploymentRow::status, ServingStore.DeploymentRow::version)
          .containsExactly("serving", 2);
      assertThat(
              docker
                  .listContainersCmd()
                  .withShowAll(true)
                  .withIdFilter(List.of(oldContainer))
                  .exec())
          .as("the old container is removed")
          .isEmpty();
      System.out.println("swap: " + ok.get() + " requests, 0 failed, log " + log);
    }
    assertThat(new ServingStore(engine.db()).deployment(name, "production").orElseThrow().status())
        .isEqualTo("stopped");
  }

  @Test
  void aVersionThatFailsItsHealthCheckLeavesTheOldOneServing() throws Exception {
    String name = uniqueName();
    Models.register(engine, home.resolve("m"), name, 1, "production");
    ModelVersion v2 = Models.register(engine, home.resolve("m"), name, 2, null);
    images.add("kiln-model/" + name + ":1");
    // Version 2's image exists already (so the packager reuses it) but its server exits at once.
    ModelInfo info2 = ModelRefs.info(new ServingStore(engine.db()), engine.artifacts(), v2, docker);
    Path ctx = Files.createDirectories(home.resolve("broken"));
    Files.writeString(
        ctx.resolve("Dockerfile"),
        "FROM kiln/busybox:1\nENTRYPOINT [\"sh\", \"-c\", \"exit 3\"]\n");
    String broken = ModelImages.reference(info2);
    images.add(broken);
    docker
        .buildImageCmd(ctx.toFile())
        .withTags(Set.of(broken))
        .withLabels(
            Map.of(
                ModelImages.LABEL_SHA256,
                v2.artifactSha256(),
                ModelImages.LABEL_APP,
                ModelImages.fingerprint(ModelImages.classPath())))
        .withPull(false)
        .exec(new BuildImageResultCallback())
        .awaitImageId(2, TimeUnit.MINUTES);
    List<String> log = new ArrayList<>();
    try (Deployment d =
        Deployment.open(
            engine, docker, name, "production", "127.0.0.1", 0, Duration.ofSeconds(60), log::add)) {
      assertThat(d.follow()).isEqualTo(1);
      engine.models().promote(name, 2, "production", "test", null);
      assertThat(d.follow()).isEqualTo(1);
      ServingStore.DeploymentRow row =
          new ServingStore(engine.db()).deployment(name, "production").orElseThrow();
      assertThat(row.status()).isEqualTo("serving");
      assertThat(row.version()).isEqualTo(1);
      assertThat(row.failedVersion()).isEqualTo(2);
      assertThat(row.error()).contains("exited with code 3 before it was healthy");
      assertThat(String.join("\n", log)).contains("version 1 keeps serving");
      HttpResponse<String> r = predict(d.url(), TestModels.rows(1));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue(PredictServer.VERSION_HEADER)).hasValue("1");
      assertThat(
              docker
                  .listContainersCmd()
                  .withShowAll(true)
                  .withLabelFilter(Map.of(ServingContainers.LABEL_DEPLOYMENT, name + "@production"))
                  .exec())
          .as("only version 1's container is left")
          .hasSize(1);
    }
  }

  @Test
  void aDeployStepServesTheAliasFollowsItAndIsDoneOncePerTask() throws Exception {
    String name = uniqueName();
    Models.register(engine, home.resolve("m"), name, 1, "production");
    Models.register(engine, home.resolve("m"), name, 2, null);
    images.add("kiln-model/" + name + ":1");
    images.add("kiln-model/" + name + ":2");
    WorkerRuntime.Handle worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "serve-worker", List.of("default"), 1, Duration.ofSeconds(30), null));
    try {
      Pipeline p =
          PipelineParser.parse(
                  home.resolve("deploy.yaml").toString(),
                  "name: ship\nsteps:\n  deploy:\n    uses: model/deploy\n"
                      + "    with: { name: "
                      + name
                      + ", alias: production }\n")
              .orThrow();
      long run = engine.runs().createRun(p, Map.of(), "manual", home.toString());
      RunRecord r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(180));
      TaskRecord t = engine.store().tasks(run).get(0);
      assertThat(r.status()).as("%s", t.error()).isEqualTo(RunStatus.SUCCEEDED);
      String url = t.outputs().get("url");
      assertThat(t.outputs()).containsEntry("version", "1");
      HttpResponse<String> first = predict(url, TestModels.rows(1));
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.headers().firstValue(PredictServer.VERSION_HEADER)).hasValue("1");

      // The hosted deployment follows the alias after the step ended.
      engine.models().promote(name, 2, "production", "test", "retrained");
      Await.until(
          "the deployment to serve version 2",
          Duration.ofSeconds(180),
          () ->
              "2"
                  .equals(
                      predict(url, TestModels.rows(1))
                          .headers()
                          .firstValue(PredictServer.VERSION_HEADER)
                          .orElse("")));

      // An attempt re-run after a lost one reports the first result and starts nothing new.
      BuiltinStep step = BuiltinStep.all().get("model/deploy");
      ClaimedTask again =
          new ClaimedTask(t.id(), run, t.stepId(), t.attempt() + 1, "other", specOf(t.id()));
      Completion c =
          step.run(
              new BuiltinStep.Context(
                  again,
                  again.spec().with(),
                  home,
                  new StepPaths(home, List.of(engine.config().artifactsDir())),
                  (stream, line) -> {},
                  new Cancellation(),
                  engine));
      assertThat(c.outputs()).containsEntry("url", url).containsEntry("version", "1");
      // The old container stops after its last request (drained in the background).
      Await.until(
          "one serving container left",
          Duration.ofSeconds(90),
          () ->
              docker
                      .listContainersCmd()
                      .withLabelFilter(
                          Map.of(ServingContainers.LABEL_DEPLOYMENT, name + "@production"))
                      .exec()
                      .size()
                  == 1);
    } finally {
      worker.close();
      Deployments.stop(name, "production");
    }
    assertThat(new ServingStore(engine.db()).deployment(name, "production").orElseThrow().status())
        .isEqualTo("stopped");
  }

  TaskSpec specOf(long taskId) {
    String spec =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                            c,
                            "select spec::text from tasks where id = ?",
                            rs -> rs.getString(1),
                            taskId)
                        .orElseThrow());
    return Json.read(spec, TaskSpec.class);
  }

  @Test
  void aTakenPortIsAClearError() throws Exception {
    String name = uniqueName();
    Models.register(engine, home.resolve("m"), name, 1, "production");
    // A port held open by the test itself (not a probe): the deployment must find it taken.
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(
              () ->
                  Deployment.open(
                      engine,
                      docker,
                      name,
                      "production",
                      "127.0.0.1",
                      taken.getLocalPort(),
                      Duration.ofSeconds(5),
                      l -> {}))
          .isInstanceOf(ServeException.class)
          .hasMessageStartingWith("cannot listen on 127.0.0.1:" + taken.getLocalPort());
    }
  }
}
