package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelVersion;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "package",
    mixinStandardHelpOptions = true,
    description = {
      "Build a container image serving a model version (POST /predict, GET /health on port 8080).",
      "Tribuo models run on the local image kiln/jre:1, scikit-learn pickles on kiln/python-ml:1",
      "(deploy/images/build.sh). The image is",
      "labelled with the model's name, version, sha256 and lineage; its digest is recorded in",
      "the registry. Prints the image reference on its last line."
    })
final class PackageCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME@VERSION|NAME@ALIAS")
  String ref;

  @Override
  public Integer call() {
    try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      ModelImages.Built built = packageImage(e, Docker.connect(), ref);
      System.err.println(
          (built.reused() ? "image up to date: " : "built ")
              + built.image()
              + " "
              + built.imageId());
      System.out.println(built.image());
      return 0;
    } catch (ServeException | Docker.Unavailable ex) {
      System.err.println("kiln: " + ex.getMessage());
      return 2;
    }
  }

  /** Resolves ref, builds (or reuses) its image and records the image's digest. */
  static ModelImages.Built packageImage(Engine e, DockerClient docker, String ref)
      throws ServeException {
    ModelVersion v = ModelRefs.resolve(e.models(), ref);
    ServingStore store = new ServingStore(e.db());
    ModelInfo info = ModelRefs.info(store, e.artifacts(), v, docker);
    ModelImages.Built built = ModelImages.build(docker, e.artifacts(), info);
    store.recordImage(v.name(), v.version(), built.image(), built.imageId());
    return built;
  }
}
