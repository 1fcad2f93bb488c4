package dev.kiln.workers.docker;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.store.RunRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * What the container tests share: the Docker engine (required when KILN_REQUIRE_DOCKER=1,
 * else a missing engine skips), the local test images, runs started from inline YAML.
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
      problem = "the Docker engine at DOCKER_HOST=" + ENGINE.host() + " does not answer: " + problem;
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
    return ENGINE.client().listContainersCmd().withShowAll(true)
        .withLabelFilter(List.of(DockerExecutor.LABEL_TASK)).exec().stream()
        .filter(c -> c.getLabels().getOrDefault(DockerExecutor.LABEL_RUN_DIR, "")
            .startsWith(home.toString()))
        .toList();
  }

  static long start(Engine engine, String yaml) {
    try {
      return engine.runs().createRun(PipelineParser.parse("test.yaml", yaml).orThrow(), Map.of(),
          "manual", null);
    } catch (Exception e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  static RunRecord awaitEnd(Engine engine, long runId, Duration within) {
    await(() -> engine.store().run(runId).orElseThrow().status().terminal()
        && engine.store().tasks(runId).stream()
            .noneMatch(t -> t.status() == dev.kiln.engine.run.StepStatus.RUNNING),
        within, "run " + runId + " to end");
    return engine.store().run(runId).orElseThrow();
  }

  static void await(BooleanSupplier condition, Duration within, String what) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + within + " waiting for " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
    }
  }
}
