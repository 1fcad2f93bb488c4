package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.workers.docker.DockerEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The local images the deploy ITs run (no registry): the Docker engine and the images, or a skip (a
 * failure when KILN_REQUIRE_DOCKER=1), and kiln/kiln:1 with the kiln.jar this build just packaged
 * layered over it (docs/deploy.md, "Several hosts, tested").
 */
final class KilnImages {
  static final String BASE = "kiln/kiln:1";
  static final Path TARGET = Path.of("target").toAbsolutePath();
  private static final List<String> IMAGES = List.of(BASE, "kiln/postgres:1", "kiln/s3proxy:1");

  private KilnImages() {}

  static DockerClient requireDocker() {
    DockerEngine engine = DockerEngine.fromEnvironment();
    String problem = engine.problem();
    if (problem == null) {
      for (String image : IMAGES) {
        try {
          engine.client().inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
          problem = "image " + image + " is missing; build it with deploy/images/build.sh all";
          break;
        }
      }
    } else {
      problem = "the Docker engine at " + engine.host() + " does not answer: " + problem;
    }
    if (problem != null) {
      if ("1".equals(System.getenv("KILN_REQUIRE_DOCKER"))) {
        fail("KILN_REQUIRE_DOCKER=1 but " + problem);
      }
      assumeTrue(false, "no Docker here: " + problem);
    }
    return engine.client();
  }

  /** A build folder: kiln/kiln:1 with target/kiln.jar and DuckDB's Linux library in place. */
  static Path freshJarContext() throws IOException {
    Path jar = TARGET.resolve("kiln.jar");
    assertThat(jar).as("the jar `package` made").exists();
    Path context = Files.createTempDirectory(TARGET, "kiln-image");
    Path opt = Files.createDirectories(context.resolve("opt"));
    Files.copy(jar, opt.resolve("kiln.jar"));
    String arch = "aarch64".equals(System.getProperty("os.arch")) ? "arm64" : "amd64";
    Path duckdb = TARGET.resolve("libduckdb_java.so_linux_" + arch);
    if (Files.exists(duckdb)) {
      Files.copy(duckdb, opt.resolve(duckdb.getFileName()));
    }
    Files.writeString(context.resolve("Dockerfile"), "FROM " + BASE + "\nCOPY opt/ /opt/kiln/\n");
    return context;
  }

  /** Builds {@code tag} from the folder {@code context} (a Dockerfile and what it copies). */
  static void build(DockerClient docker, String tag, Path context) {
    docker
        .buildImageCmd(context.toFile())
        .withTags(Set.of(tag))
        .withPull(false)
        .exec(new BuildImageResultCallback())
        .awaitImageId(5, TimeUnit.MINUTES);
  }
}
