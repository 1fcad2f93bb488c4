package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.workers.docker.DockerEngine;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln bench docker}; skipped without a Docker engine unless KILN_REQUIRE_DOCKER=1. */
class DockerBenchTest {
  static final String BUSYBOX = "kiln/busybox:1";
  static final DockerEngine DOCKER = DockerEngine.fromEnvironment();

  @TempDir Path home;
  @TempDir Path dir;

  @BeforeEach
  void requireBusybox() {
    String problem = DOCKER.problem();
    if (problem == null) {
      try {
        DOCKER.client().inspectImageCmd(BUSYBOX).exec();
      } catch (NotFoundException e) {
        problem = "image " + BUSYBOX + " is missing; build it with deploy/images/build.sh";
      }
    }
    if (problem != null) {
      if ("1".equals(System.getenv("KILN_REQUIRE_DOCKER"))) {
        fail("KILN_REQUIRE_DOCKER=1 but " + problem);
      }
      assumeTrue(false, "no Docker here: " + problem);
    }
  }

  @Test
  void printsBothWallTimesAndTheirRatio() throws Exception {
    var r = new KilnCli(home, dir).run("bench", "docker", "--steps", "2", "--repeat", "1");
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    assertThat(r.out())
        .contains("kiln chain of 2 container steps:")
        .contains("shell loop of 2 'docker run --rm':")
        .containsPattern(
            "ratio kiln/loop: \\d+\\.\\d\\d \\(median of 1; best-to-best \\d+\\.\\d\\d");
    // Kiln labels its containers with the run folder (DockerExecutor.LABEL_RUN_DIR).
    List<String> leftover =
        DOCKER
            .client()
            .listContainersCmd()
            .withShowAll(true)
            .withLabelFilter(List.of("dev.kiln.task"))
            .exec()
            .stream()
            .map(c -> c.getLabels().getOrDefault("dev.kiln.run-dir", ""))
            .filter(d -> d.startsWith(home.toString()))
            .toList();
    assertThat(leftover).isEmpty();
  }

  @Test
  void rejectsAMissingImageInOneLine() throws Exception {
    var r = new KilnCli(home, dir).run("bench", "docker", "--image", "kiln/none:9");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().strip())
        .isEqualTo("kiln: image kiln/none:9 is missing; build it with deploy/images/build.sh");
  }
}
