package dev.kiln.steps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Built-in steps in real runs read only inside the run's folders and the data roots: a path that
 * leaves them fails the step at once (INVALID, no retry) naming the step and the field.
 */
class PathConfinementTest {
  @TempDir Path home;
  @TempDir Path base;
  @TempDir Path dataRoot;
  @TempDir Path outside;
  Engine engine;
  WorkerRuntime.Handle worker;

  @BeforeEach
  void open() throws Exception {
    Files.writeString(base.resolve("iris.csv"), "a,b\n1,2\n3,4\n");
    Files.writeString(dataRoot.resolve("big.csv"), "a,b\n5,6\n");
    Files.writeString(outside.resolve("secret.csv"), "a,b\n7,8\n");
    engine =
        new Engine(
            KilnConfig.from(
                Map.of("KILN_HOME", home.toString(), "KILN_DATA_ROOTS", dataRoot.toString())),
            TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "paths-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  @Test
  void pathsLeavingTheAllowedFoldersFailTheStepAtOnceNamingStepAndField() throws Exception {
    Files.createSymbolicLink(base.resolve("link.csv"), outside.resolve("secret.csv"));
    Files.createSymbolicLink(base.resolve("weights.bin"), Path.of("/etc/passwd"));
    String up = "../".repeat(base.getNameCount()) + "etc/passwd";
    RunRecord r =
        run(
            """
        name: escape
        steps:
          dotdot:
            uses: dataset/version
            retries: { max: 3, backoff: 10s }
            with: { name: a, path: "%s" }
          absolute:
            uses: dataset/version
            with: { name: b, path: "%s" }
          link:
            uses: data/validate
            with: { data: link.csv, schema: link.csv }
          artifact:
            uses: model/register
            with: { name: m, artifact: weights.bin }
          drift:
            uses: drift/check
            with: { reference: iris.csv, current: "../../etc/passwd" }
        """
                .formatted(up, outside.resolve("secret.csv")));
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "dotdot").attempt()).isEqualTo(1);
    assertThat(task(r, "dotdot").error())
        .isEqualTo(
            "dataset/version: with.path: path '"
                + up
                + "' (/etc/passwd) is outside the folders built-in steps may use (the run's and"
                + " the pipeline's folder, the work folder, the artifact store, each --data-root"
                + " / KILN_DATA_ROOTS)");
    assertThat(task(r, "absolute").error())
        .startsWith("dataset/version: with.path: path '" + outside.resolve("secret.csv") + "'")
        .contains("is outside the folders");
    assertThat(task(r, "link").error())
        .startsWith("data/validate: with.data: path 'link.csv' is or lies under a symbolic link");
    assertThat(task(r, "artifact").error())
        .startsWith(
            "model/register: with.artifact: path 'weights.bin' is or lies under a symbolic");
    assertThat(task(r, "drift").error()).startsWith("drift/check: with.current: path '../../etc");
    assertThat(engine.datasets().versions("a")).isEmpty();
    assertThat(engine.datasets().versions("b")).isEmpty();
  }

  @Test
  void theRunsFolderAndADataRootAreAllowed() throws Exception {
    RunRecord r =
        run(
            """
        name: allowed
        steps:
          local:
            uses: dataset/version
            with: { name: local, path: iris.csv }
          root:
            uses: dataset/version
            with: { name: root, path: "%s" }
        """
                .formatted(dataRoot.resolve("big.csv")));
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "local").status()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(task(r, "local").outputs()).containsEntry("rows", "2");
    assertThat(task(r, "root").outputs()).containsEntry("rows", "1");
  }

  RunRecord run(String yaml) throws Exception {
    Pipeline p = PipelineParser.parse(base.resolve("test.yaml").toString(), yaml).orThrow();
    long id = engine.runs().createRun(p, Map.of(), "manual", base.toString());
    return Pipelines.awaitEnd(engine, id, Duration.ofSeconds(60));
  }

  TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }
}
