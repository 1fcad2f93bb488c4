package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.store.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A scikit-learn model served as a deployment serves it, for {@code kiln bench serve}: trained by
 * scikit-learn in {@value SklearnModel#BASE} on a CSV, registered, packaged and deployed (its
 * container behind a deployment's proxy with the live log), with scikit-learn's own predict timed
 * on the same rows in the same image when it was trained (the floor, no HTTP).
 */
public final class SklearnServing implements AutoCloseable {
  /**
   * Trains on /tmp/data.csv; times model.predict on the first row and the first BATCH rows, REPEAT
   * times each after a warm-up; prints the pickle (base64) and the times in ms as JSON.
   */
  private static final String TRAIN_AND_TIME =
      """
      import base64, io, json, sys, time
      import joblib, pandas as pd
      from sklearn.linear_model import LogisticRegression
      from sklearn.pipeline import make_pipeline
      from sklearn.preprocessing import StandardScaler
      target, batch, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
      df = pd.read_csv("/tmp/data.csv")
      y = df.pop(target)
      model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(df, y)
      many = pd.concat([df] * (batch // len(df) + 1)).head(batch)
      def times(rows, n):
          for _ in range(min(n, 500)):
              model.predict(rows)
          out = []
          for _ in range(n):
              t = time.perf_counter()
              model.predict(rows)
              out.append((time.perf_counter() - t) * 1000)
          return out
      one_row, batch_rows = times(df.head(1), repeat), times(many, max(1, repeat // 10))
      buf = io.BytesIO()
      joblib.dump(model, buf)
      print(json.dumps({"model": base64.b64encode(buf.getvalue()).decode(),
                        "one": one_row, "batch": batch_rows}))
      """;

  /** scikit-learn's own predict in the image, ms per call: 1 row and a batch. */
  public record Floor(List<Double> oneRow, List<Double> batch) {}

  private final DockerClient docker;
  private final Deployment deployment;
  private final List<String> imageIds;
  private final Floor floor;

  private SklearnServing(
      DockerClient docker, Deployment deployment, List<String> imageIds, Floor floor) {
    this.docker = docker;
    this.deployment = deployment;
    this.imageIds = imageIds;
    this.floor = floor;
  }

  /** Why the flavour cannot be served here (no Docker engine, no base image), or empty. */
  public static Optional<String> unavailable() {
    try {
      Docker.connect().inspectImageCmd(SklearnModel.BASE).exec();
      return Optional.empty();
    } catch (Docker.Unavailable e) {
      return Optional.of(e.getMessage());
    } catch (NotFoundException e) {
      return Optional.of(
          "image " + SklearnModel.BASE + " is missing; build it with deploy/images/build.sh");
    }
  }

  /**
   * Trains on csv (predicting target) as the next version of name, deploys that version on loopback
   * and waits until it serves; the floor is timed on the first row and the first batch rows, repeat
   * times (a tenth as many for the batch).
   */
  public static SklearnServing start(
      Engine engine, Path csv, String target, String name, int batch, int repeat) throws Exception {
    DockerClient docker = Docker.connect();
    Path dir = Files.createTempDirectory("kiln-sklearn-bench-");
    Map<?, ?> trained;
    ModelVersion v;
    try {
      Files.writeString(dir.resolve("train.py"), TRAIN_AND_TIME);
      Files.copy(csv, dir.resolve("data.csv"));
      String out =
          SklearnModel.python(
              docker,
              dir,
              "training " + name,
              List.of("/tmp/train.py", target, String.valueOf(batch), String.valueOf(repeat)));
      trained = Json.read(out.strip(), Map.class);
      Path pickle = dir.resolve("model.joblib");
      Files.write(pickle, Base64.getDecoder().decode((String) trained.get("model")));
      ArtifactStore.Stored s = engine.artifacts().put(pickle);
      v =
          engine
              .models()
              .register(
                  ModelRegistry.NewVersion.ofFile(
                      s, name, null, "kiln bench serve", "the scikit-learn line"));
    } finally {
      ArtifactStore.deleteTree(dir);
    }
    Deployment d =
        Deployment.open(
            engine,
            docker,
            name,
            Deployment.pinnedKey(v.version()),
            v.version(),
            "127.0.0.1",
            0,
            Duration.ofSeconds(180),
            line -> {});
    Integer serving = d.follow();
    List<String> images = new ServingStore(engine.db()).imageIds(name, v.version());
    SklearnServing self =
        new SklearnServing(
            docker, d, images, new Floor(millis(trained.get("one")), millis(trained.get("batch"))));
    if (serving == null) {
      self.close();
      throw new IllegalStateException(name + "@" + v.version() + " did not serve: " + d.error());
    }
    return self;
  }

  private static List<Double> millis(Object list) {
    return ((List<?>) list).stream().map(x -> ((Number) x).doubleValue()).toList();
  }

  public Floor floor() {
    return floor;
  }

  /** The model's container, without the proxy. */
  public String containerUrl() {
    return deployment.backendUrl();
  }

  /** The deployment's stable address: its proxy, with the live log. */
  public String deploymentUrl() {
    return deployment.url();
  }

  /** Stops the deployment and removes the image it built. */
  @Override
  public void close() {
    deployment.close();
    for (String id : imageIds) {
      try {
        docker.removeImageCmd(id).withForce(true).exec();
      } catch (NotFoundException e) {
        // removed already
      }
    }
  }
}
