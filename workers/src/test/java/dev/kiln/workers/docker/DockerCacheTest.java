package dev.kiln.workers.docker;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.docker.DockerSupport.BUSYBOX;
import static dev.kiln.workers.docker.DockerSupport.containersOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container step's cache key holds the image's id, not its tag: new content under the same tag is
 * a miss. The image is built here, as deploy/images/busybox/build.sh does, with docker import.
 */
class DockerCacheTest {
  static final String IMAGE = "kiln/cache-test:1";

  @TempDir Path home;
  @TempDir Path scratch;
  Engine engine;
  WorkerRuntime.Handle worker;
  final List<String> built = new ArrayList<>();

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @BeforeEach
  void open() {
    DockerSupport.requireImage(BUSYBOX);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "docker-cache-worker", List.of("default"), 2, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() throws Exception {
    if (worker == null) {
      return;
    }
    worker.close();
    engine.close();
    Images.forget(IMAGE);
    for (String id : built) {
      sh("docker image rm -f " + id + " >/dev/null 2>&1 || true");
    }
    assertThat(containersOf(home)).as("containers left behind").isEmpty();
  }

  /** kiln/busybox:1's files plus /etc/flavour, imported under IMAGE; returns the image id. */
  private String build(String flavour) throws Exception {
    String id =
        sh("""
        set -eu
        cid=$(docker create %s)
        trap 'docker rm -f "$cid" >/dev/null' EXIT
        docker export "$cid" > root.tar
        mkdir -p add/etc && printf '%%s' '%s' > add/etc/flavour
        tar -rf root.tar -C add etc/flavour
        docker import -c 'ENV PATH=/bin' root.tar %s >/dev/null
        docker image inspect -f '{{.Id}}' %s
        """
                .formatted(BUSYBOX, flavour, IMAGE, IMAGE))
            .trim();
    built.add(id);
    // The executor remembers a tag's image for a few seconds; this test re-tags within them.
    Images.forget(IMAGE);
    return id;
  }

  private String sh(String script) throws Exception {
    Process p =
        new ProcessBuilder("bash", "-c", script)
            .directory(scratch.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  private TaskRecord run() {
    long id =
        DockerSupport.start(
            engine,
            """
        name: cached-image
        steps:
          read:
            image: %s
            network: none
            cache: true
            run: echo "flavour=$(cat /etc/flavour)" >> "$KILN_OUTPUTS"
        """
                .formatted(IMAGE));
    assertThat(awaitEnd(engine, id, WITHIN).status())
        .as("%s", engine.store().tasks(id))
        .isEqualTo(RunStatus.SUCCEEDED);
    return engine.store().tasks(id).get(0);
  }

  @Test
  void newImageContentUnderTheSameTagIsAMiss() throws Exception {
    String one = build("one");
    TaskRecord first = run();
    assertThat(first.outputs()).containsEntry("flavour", "one");
    assertThat(first.cached()).isFalse();

    TaskRecord again = run();
    assertThat(again.cached()).as("same image: a hit").isTrue();
    assertThat(again.reusedFrom()).isEqualTo(first.id());

    String two = build("two");
    assertThat(two).isNotEqualTo(one);
    TaskRecord rebuilt = run();
    assertThat(rebuilt.cached()).as("new content under the same tag: a miss").isFalse();
    assertThat(rebuilt.outputs()).as("it ran in the new image").containsEntry("flavour", "two");
  }
}
