package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.WaitContainerResultCallback;
import com.github.dockerjava.api.exception.DockerClientException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.StreamType;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.store.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * scikit-learn pickles (joblib or pickle files): served by {@value #SERVER}, a small Python server
 * of the same predict API, on the local image {@value #BASE}. The signature is the model's own
 * {@code feature_names_in_} (every column a number), read by the same script in a throwaway
 * container without network, so the pickle is never loaded in Kiln's JVM.
 */
final class SklearnModel {
  static final String FLAVOUR = "sklearn";
  static final String BASE = "kiln/python-ml:1";
  static final String SERVER = "kiln_predict.py";
  private static final byte[] SCRIPT = script();

  private SklearnModel() {}

  private static byte[] script() {
    try (InputStream in = SklearnModel.class.getResourceAsStream(SERVER)) {
      if (in == null) {
        throw new IllegalStateException(SERVER + " is missing from Kiln's class path");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Which server is in an image: the script's sha256 (16 hex digits). */
  static String fingerprint() {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(SCRIPT))
          .substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes the server into an image's build folder; returns the Dockerfile's text. */
  static String stage(Path ctx) throws IOException {
    Files.write(ctx.resolve(SERVER), SCRIPT);
    List<String> entry = List.of("python3", "-u", "/opt/kiln/" + SERVER, "/opt/kiln/model");
    return String.join(
        "\n",
        "FROM " + BASE,
        "COPY " + SERVER + " /opt/kiln/" + SERVER,
        "COPY model /opt/kiln/model",
        "USER 1000",
        "EXPOSE " + ModelImages.PORT,
        "ENTRYPOINT " + Json.write(entry),
        "CMD " + Json.write(List.of(String.valueOf(ModelImages.PORT))),
        "");
  }

  /** The model's columns, read in a {@value #BASE} container. */
  static Signature signature(DockerClient docker, Path artifact, String ref) throws ServeException {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("kiln-sklearn-");
      Files.write(dir.resolve(SERVER), SCRIPT);
      Files.copy(artifact, dir.resolve("model.sklearn"));
      String out =
          python(docker, dir, ref, List.of("/tmp/" + SERVER, "--signature", "/tmp/model.sklearn"));
      try {
        return Signature.fromJson(Json.read(out.strip(), List.class));
      } catch (RuntimeException e) {
        throw new ServeException(ref + ": " + BASE + " gave no signature: " + lastLine(out));
      }
    } catch (IOException e) {
      throw new ServeException(ref + ": cannot stage the model: " + e.getMessage(), e);
    } finally {
      if (dir != null) {
        try {
          ArtifactStore.deleteTree(dir);
        } catch (IOException e) {
          System.err.println("kiln: could not remove " + dir + ": " + e);
        }
      }
    }
  }

  /**
   * Runs {@code python3 ARGS} in a {@value #BASE} container (no network, 1 GB, user 1000, at most 2
   * minutes) with the files of dir in /tmp; its standard output, or a ServeException naming what
   * with the last line of its standard error.
   */
  static String python(DockerClient docker, Path dir, String what, List<String> args)
      throws ServeException {
    String id = null;
    try {
      List<String> cmd = new ArrayList<>();
      cmd.add("python3");
      cmd.addAll(args);
      id =
          docker
              .createContainerCmd(BASE)
              .withCmd(cmd)
              .withUser("1000")
              .withNetworkDisabled(true)
              .withHostConfig(
                  HostConfig.newHostConfig().withNetworkMode("none").withMemory(1L << 30))
              .exec()
              .getId();
      docker
          .copyArchiveToContainerCmd(id)
          .withHostResource(dir.toString())
          .withDirChildrenOnly(true)
          .withRemotePath("/tmp")
          .exec();
      docker.startContainerCmd(id).exec();
      int code =
          docker
              .waitContainerCmd(id)
              .exec(new WaitContainerResultCallback())
              .awaitStatusCode(2, TimeUnit.MINUTES);
      StringBuilder out = new StringBuilder();
      StringBuilder err = new StringBuilder();
      docker
          .logContainerCmd(id)
          .withStdOut(true)
          .withStdErr(true)
          .withTailAll()
          .exec(
              new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame f) {
                  (f.getStreamType() == StreamType.STDERR ? err : out)
                      .append(new String(f.getPayload(), StandardCharsets.UTF_8));
                }
              })
          .awaitCompletion(30, TimeUnit.SECONDS);
      if (code != 0) {
        throw new ServeException(what + ": " + BASE + " cannot read the model: " + lastLine(err));
      }
      return out.toString();
    } catch (DockerClientException | DockerException e) {
      throw new ServeException(what + ": cannot run " + BASE + ": " + Docker.oneLine(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServeException(what + ": interrupted while running " + BASE, e);
    } finally {
      if (id != null) {
        ServingContainers.remove(docker, id);
      }
    }
  }

  private static String lastLine(CharSequence text) {
    String[] lines = text.toString().strip().split("\n");
    String last = lines[lines.length - 1].replaceFirst("^kiln predict: ", "");
    return last.isBlank() ? "no message" : last;
  }
}
