package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose KILN_HOME is a real 16 MiB file system (tmpfs, mounted as root): steps that write
 * more fail with "disk full", leave no work folder or temporary artifact behind, and the worker
 * goes on serving. Not root: skipped, unless KILN_REQUIRE_DOCKER=1 (the full CI), where it fails.
 */
class DiskFullTest {
  @TempDir Path dir;
  Path small;
  Engine engine;
  Process worker;

  private static int exec(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    if (p.exitValue() != 0) {
      System.err.println(String.join(" ", cmd) + ": " + out.trim());
    }
    return p.exitValue();
  }

  @BeforeEach
  void mount() throws Exception {
    boolean root = "root".equals(System.getProperty("user.name"));
    if (!root) {
      if ("1".equals(System.getenv("KILN_REQUIRE_DOCKER"))) {
        fail("KILN_REQUIRE_DOCKER=1 but the disk-full test needs root to mount a small tmpfs");
      }
      Assumptions.abort("not root: cannot mount a 16 MiB tmpfs for the disk-full test");
    }
    small = Files.createDirectories(dir.resolve("small"));
    assertThat(exec("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small.toString()))
        .as("mount a 16 MiB tmpfs on %s", small)
        .isZero();
    TestDb.Url url = TestDb.freshUrl();
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", small.toString())),
            Database.connect(url.url(), url.user(), url.password(), 4));
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", small.toString(),
                "KILN_DB_URL", url.url(),
                "KILN_DB_USER", url.user(),
                "KILN_MIN_FREE_DISK", "1m"),
            dir);
    worker = kiln.start("worker", "--slots", "1");
  }

  @AfterEach
  void unmount() throws Exception {
    if (worker != null) {
      worker.destroyForcibly();
      worker.waitFor(30, TimeUnit.SECONDS);
    }
    if (engine != null) {
      engine.close();
    }
    if (small != null) {
      exec("umount", small.toString());
    }
  }

  private RunRecord run(String yaml) {
    return Pipelines.awaitEnd(
        engine, Pipelines.start(engine, yaml, Map.of()), Duration.ofSeconds(90));
  }

  private TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private List<String> files(Path under) throws IOException {
    if (!Files.exists(under)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(under)) {
      return s.filter(Files::isRegularFile).map(Path::toString).toList();
    }
  }

  @Test
  void aStepThatFillsTheDiskFailsWithDiskFullAndLeavesNothingBehind() throws Exception {
    RunRecord work =
        run(
            """
            name: fill
            steps:
              big: { run: 'head -c 33554432 /dev/zero > big.bin' }
            """);
    assertThat(work.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(work, "big").error()).contains("disk full");

    // 10 MiB fits in the work folder, but not a second time in the artifact store.
    RunRecord artifact =
        run(
            """
            name: fillstore
            steps:
              art: { run: 'head -c 10485760 /dev/urandom > "$KILN_ARTIFACTS/model.bin"' }
            """);
    assertThat(artifact.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(artifact, "art").error()).contains("disk full");

    Pipelines.await(
        () -> {
          try {
            return files(small.resolve("work")).isEmpty();
          } catch (IOException e) {
            return false;
          }
        },
        Duration.ofSeconds(30),
        "the work folders to be removed");
    assertThat(files(small.resolve("artifacts"))).isEmpty();

    // The worker goes on: its slot is back and the next step runs.
    RunRecord after =
        run(
            """
            name: after
            steps:
              small: { run: 'head -c 1048576 /dev/zero > "$KILN_ARTIFACTS/small.bin"' }
            """);
    assertThat(after.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(worker.isAlive()).isTrue();
  }
}
