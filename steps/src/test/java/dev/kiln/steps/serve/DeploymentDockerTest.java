package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.testing.TestDb;
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
    String problem = null;
    try {
      docker = Docker.connect();
      docker.inspectImageCmd(ModelImages.BASE).exec();
    } catch (Docker.Unavailable e) {
      problem = e.getMessage();
    } catch (NotFoundException e) {
      problem = "image " + ModelImages.BASE + " is missing; build it with deploy/images/build.sh";
    }
    if (problem != null) {
      if (REQUIRED) {
        fail("KILN_REQUIRE_DOCKER=1 but " + problem);
      }
      assumeTrue(false, "no Docker here: " + problem);
    }
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
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
      ServingContainers.awaitHealthy(docker, c, Duration.ofSeconds(120));
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
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
                for (int i = 0; i < 20_000 && !stop.get() && System.nanoTime() < deadline; i++) {
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
      dev.kiln.engine.testing.Await.until(
          "requests served by version 1", Duration.ofSeconds(30), () -> ok.get() > 10);
      engine.models().promote(name, 2, "production", "test", "better");
      assertThat(d.follow()).isEqualTo(2);
      int atSwap = ok.get();
      dev.kiln.engine.testing.Await.until(
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
    ModelInfo info2 = ModelRefs.info(new ServingStore(engine.db()), engine.artifacts(), v2);
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
  void aTakenPortIsAClearError() throws Exception {
    String name = uniqueName();
    Models.register(engine, home.resolve("m"), name, 1, "production");
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
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
