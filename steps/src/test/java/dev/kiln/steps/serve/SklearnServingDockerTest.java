package dev.kiln.steps.serve;

import static dev.kiln.steps.serve.DeploymentDockerTest.JSON;
import static dev.kiln.steps.serve.DeploymentDockerTest.predict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.testing.TestDb;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scikit-learn flavour against the real Docker engine (KILN_REQUIRE_DOCKER=1: no skipping): a
 * model trained by scikit-learn in kiln/python-ml:1, registered, packaged and served, answers as
 * scikit-learn's own predict does on the same rows.
 */
class SklearnServingDockerTest {
  /** Trains on the flagship's data in the container; prints the pickle and sklearn's answers. */
  static final String TRAIN =
      """
      import base64, io, json
      import joblib, pandas as pd
      from sklearn.linear_model import LogisticRegression
      from sklearn.pipeline import make_pipeline
      from sklearn.preprocessing import StandardScaler
      df = pd.read_csv("/tmp/breast_cancer.csv")
      y = df.pop("diagnosis")
      model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(df, y)
      buf = io.BytesIO()
      joblib.dump(model, buf)
      rows = df.head(%d)
      print(json.dumps({"model": base64.b64encode(buf.getvalue()).decode(),
                        "classes": model.classes_.tolist(),
                        "predictions": model.predict(rows).tolist(),
                        "probabilities": model.predict_proba(rows).tolist()}))
      """;

  static final int ROWS = 20;

  @TempDir Path home;
  Engine engine;
  DockerClient docker;
  final List<String> images = new ArrayList<>();

  @BeforeEach
  void open() {
    docker = DeploymentDockerTest.dockerWith(SklearnModel.BASE);
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

  @Test
  void aScikitLearnModelIsServedAndAnswersAsScikitLearnDoes() throws Exception {
    Path in = Files.createDirectories(home.resolve("train"));
    Files.writeString(in.resolve("train.py"), TRAIN.formatted(ROWS));
    Files.copy(TestModels.DATA, in.resolve("breast_cancer.csv"));
    Map<String, Object> trained =
        JSON.readValue(
            SklearnModel.python(docker, in, "training", List.of("/tmp/train.py")), Map.class);
    Path pickle = home.resolve("model.joblib");
    Files.write(pickle, Base64.getDecoder().decode((String) trained.get("model")));
    String name = "sk-" + Long.toHexString(System.nanoTime());
    ModelVersion v = Models.registerFile(engine, pickle, name, "production");

    ModelImages.Built built = PackageCommand.packageImage(engine, docker, name + "@production");
    images.add(built.image());
    Map<String, String> labels =
        docker.inspectImageCmd(built.image()).exec().getConfig().getLabels();
    assertThat(labels)
        .containsEntry(ModelImages.LABEL_FLAVOUR, "sklearn")
        .containsEntry(ModelImages.LABEL_SHA256, v.artifactSha256());
    ServingStore.Recorded rec = new ServingStore(engine.db()).signature(name, 1).orElseThrow();
    assertThat(rec.flavour()).isEqualTo("sklearn");
    assertThat(rec.signature().names()).hasSize(30).startsWith("mean_radius");
    assertThat(PackageCommand.packageImage(engine, docker, name + "@1").reused()).isTrue();

    ServingContainers.Running c =
        ServingContainers.start(docker, built.imageId(), name, "production", 1);
    try {
      c = ServingContainers.awaitHealthy(docker, c, Duration.ofSeconds(120));
      HttpResponse<String> health =
          DeploymentDockerTest.HTTP.send(
              HttpRequest.newBuilder(URI.create(c.url() + "/health")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(JSON.readValue(health.body(), Map.class))
          .containsEntry("status", "ok")
          .containsEntry("model", name)
          .containsEntry("version", 1);

      HttpResponse<String> r = predict(c.url(), TestModels.rows(ROWS));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue(PredictServer.VERSION_HEADER)).hasValue("1");
      Map<String, Object> answer = JSON.readValue(r.body(), Map.class);
      assertThat(answer.get("predictions")).isEqualTo(trained.get("predictions"));
      List<String> classes = (List<String>) trained.get("classes");
      List<List<Double>> expected = (List<List<Double>>) trained.get("probabilities");
      List<Map<String, Double>> got = (List<Map<String, Double>>) answer.get("probabilities");
      assertThat(got).hasSize(ROWS);
      for (int i = 0; i < ROWS; i++) {
        assertThat(got.get(i).keySet()).containsExactlyElementsOf(classes);
        for (int k = 0; k < classes.size(); k++) {
          assertThat(got.get(i).get(classes.get(k)))
              .isCloseTo(expected.get(i).get(k), within(1e-12));
        }
      }

      // Bad rows: the same messages as the JVM server's.
      List<Map<String, Object>> rows = TestModels.rows(2);
      rows.get(1).remove("mean_radius");
      assertBad(predict(c.url(), rows), 400, "rows[1]: missing column(s) mean_radius");
      Map<String, Object> typed = new LinkedHashMap<>(TestModels.rows(1).get(0));
      typed.put("mean_area", "large");
      assertBad(
          predict(c.url(), List.of(typed)),
          400,
          "rows[0].mean_area: expected a number, got string 'large'");
      Map<String, Object> extra = new LinkedHashMap<>(TestModels.rows(1).get(0));
      extra.put("shoe_size", 44);
      assertThat(JSON.readValue(predict(c.url(), List.of(extra)).body(), Map.class).get("error"))
          .asString()
          .startsWith("rows[0]: unknown column(s) shoe_size (the model takes: mean_radius,");
      assertBad(predict(c.url(), List.of()), 400, "rows is empty");
      HttpResponse<String> big =
          DeploymentDockerTest.HTTP.send(
              HttpRequest.newBuilder(URI.create(c.url() + "/predict"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[11 * 1024 * 1024]))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertBad(big, 413, "request body over 10 MB");

      // Every client mistake, to the container and through a deployment's proxy in front of it.
      ClientErrors.assertClear(c.url(), 1);
      try (Proxy proxy = Proxy.start("127.0.0.1", 0)) {
        proxy.switchTo(c);
        ClientErrors.assertClear("http://127.0.0.1:" + proxy.port(), 1);
      }
    } finally {
      ServingContainers.remove(docker, c.id());
    }
  }

  @Test
  void aPickleThatIsNoScikitLearnModelIsRefusedBeforeAnythingIsBuilt() throws Exception {
    Path pickle = home.resolve("dict.pkl");
    Files.write(pickle, new byte[] {(byte) 0x80, 2, '}', '.'}); // pickle.dumps({}, 2)
    String name = "sk-" + Long.toHexString(System.nanoTime());
    Models.registerFile(engine, pickle, name, null);
    images.add("kiln-model/" + name + ":1");
    assertThatThrownBy(() -> PackageCommand.packageImage(engine, docker, name + "@1"))
        .isInstanceOf(ServeException.class)
        .hasMessageStartingWith(
            name + "@1: kiln/python-ml:1 cannot read the model: not a scikit-learn model");
    assertThat(new ServingStore(engine.db()).signature(name, 1)).isEmpty();
  }

  private static void assertBad(HttpResponse<String> r, int status, String error) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue(PredictServer.VERSION_HEADER)).hasValue("1");
    assertThat(JSON.readValue(r.body(), Map.class))
        .containsEntry("error", error)
        .containsEntry("status", status);
  }
}
