package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.store.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "download",
    mixinStandardHelpOptions = true,
    description = {
      "Copy a model version's artifact out of the registry, checked against its sha256, with a",
      "kiln-model.json beside it (name, version, sha256, lineage; flavour and signature where",
      "known). DIR defaults to ./NAME-VERSION and must not exist yet or be empty."
    })
final class DownloadCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME@VERSION|NAME@ALIAS")
  String ref;

  @Parameters(index = "1", paramLabel = "DIR", arity = "0..1")
  Path dir;

  @Override
  public Integer call() {
    try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      ModelVersion v = ModelRefs.resolve(e.models(), ref);
      Path out = dir == null ? Path.of(v.name() + "-" + v.version()) : dir;
      Path written = download(e, v, out);
      System.out.println(written);
      return 0;
    } catch (ServeException ex) {
      System.err.println("kiln: " + ex.getMessage());
      return 2;
    }
  }

  /** Writes the artifact and kiln-model.json into dir; returns the artifact's path there. */
  static Path download(Engine e, ModelVersion v, Path dir) throws ServeException {
    Path src = ModelRefs.artifact(e.artifacts(), v);
    try {
      if (Files.exists(dir)) {
        try (Stream<Path> s = Files.list(dir)) {
          if (s.findAny().isPresent()) {
            throw new ServeException(dir + " exists and is not empty");
          }
        }
      }
      Files.createDirectories(dir);
      Map<String, Object> meta = new LinkedHashMap<>();
      String file;
      try {
        ModelInfo info = ModelRefs.info(new ServingStore(e.db()), e.artifacts(), v, dockerIfAny());
        meta.putAll(info.toJson());
        file = info.artifact();
      } catch (ServeException unknownFlavour) {
        file = Files.isDirectory(src) ? "model" : "model.bin";
        meta.put("name", v.name());
        meta.put("version", v.version());
        meta.put("sha256", v.artifactSha256());
        meta.put("artifact", file);
        meta.put("lineage", ModelRefs.lineage(v));
      }
      Path target = dir.resolve(file);
      if (Files.isDirectory(src)) {
        copyTree(src, target);
      } else {
        Files.copy(src, target, StandardCopyOption.COPY_ATTRIBUTES);
      }
      Files.writeString(dir.resolve(ModelInfo.FILE), Json.write(meta) + "\n");
      return target;
    } catch (IOException ex) {
      throw new ServeException("cannot write " + dir + ": " + ex.getMessage(), ex);
    }
  }

  /** The engine that reads a scikit-learn model's columns, when one answers. */
  private static DockerClient dockerIfAny() {
    try {
      return Docker.connect();
    } catch (Docker.Unavailable e) {
      return null;
    }
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
}
