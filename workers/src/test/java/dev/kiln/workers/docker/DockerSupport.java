package dev.kiln.workers.docker;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import dev.kiln.engine.Engine;
import dev.kiln.workers.Pipelines;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the container tests share: the Docker engine (required when KILN_REQUIRE_DOCKER=1, else a
 * missing engine skips), the local test images, runs started from inline YAML.
 */
final class DockerSupport {
  static final String BUSYBOX = "kiln/busybox:1";
  static final String PYTHON_ML = "kiln/python-ml:1";
  static final boolean REQUIRED = "1".equals(System.getenv("KILN_REQUIRE_DOCKER"));

  private static final DockerEngine ENGINE = DockerEngine.fromEnvironment();

  private DockerSupport() {}

  static DockerEngine engine() {
    return ENGINE;
  }

  /** The engine answers and the image is there (built by deploy/images/build.sh). */
  static void requireImage(String image) {
    String problem = ENGINE.problem();
    if (problem != null) {
      problem =
          "the Docker engine at DOCKER_HOST=" + ENGINE.host() + " does not answer: " + problem;
    } else {
      try {
        ENGINE.client().inspectImageCmd(image).exec();
      } catch (NotFoundException e) {
        problem = "image " + image + " is missing; build it with deploy/images/build.sh";
      }
    }
    if (problem != null) {
      if (REQUIRED) {
        fail("KILN_REQUIRE_DOCKER=1 but " + problem);
      }
      assumeTrue(false, "no Docker here: " + problem);
    }
  }

  /** Containers Kiln started for runs under this KILN_HOME, running or not. */
  static List<Container> containersOf(Path home) {
    return ENGINE
        .client()
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(List.of(DockerExecutor.LABEL_TASK))
        .exec()
        .stream()
        .filter(
            c ->
                c.getLabels()
                    .getOrDefault(DockerExecutor.LABEL_RUN_DIR, "")
                    .startsWith(home.toString()))
        .toList();
  }

  static long start(Engine engine, String yaml) {
    return Pipelines.start(engine, yaml, Map.of());
  }
}
