package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
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
 * The python-ml image's {@code kiln} module (deploy/images/python-ml/kiln.py) outside the image:
 * Debian's python3 as a process step with PYTHONPATH at the module's folder, its metrics, outputs
 * and artifacts read back from the store. Without python3 it is skipped, unless
 * KILN_REQUIRE_DOCKER=1 (the full CI), where it fails.
 */
class PythonHelperTest {
  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final Path MODULE =
      Path.of("..", "deploy", "images", "python-ml").toAbsolutePath().normalize();

  @TempDir Path home;
  @TempDir Path scratch;
  Engine engine;
  WorkerRuntime.Handle worker;

  @BeforeEach
  void open() {
    if ("1".equals(System.getenv("KILN_REQUIRE_DOCKER"))) {
      assertThat(Files.isExecutable(PYTHON))
          .as("KILN_REQUIRE_DOCKER=1 (the full CI) but no " + PYTHON)
          .isTrue();
    }
    assumeTrue(Files.isExecutable(PYTHON), "needs " + PYTHON);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "python-helper", List.of("default"), 2, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() {
    if (worker != null) {
      worker.close();
    }
    if (engine != null) {
      engine.close();
    }
  }

  TaskRecord task(long run, String step) {
    return Pipelines.task(engine, run, step);
  }

  String pipeline(String script) throws Exception {
    Path file = scratch.resolve("step-" + System.nanoTime() + ".py");
    Files.writeString(file, script);
    return """
        name: python-helper
        steps:
          train:
            env: { PYTHONPATH: "@MODULE@" }
            run: @PYTHON@ "@SCRIPT@"
          use:
            needs: [train]
            run: |
              test "$(cat "$KILN_INPUTS/train/model.bin")" = weights
              test "$(cat "$KILN_INPUTS/train/report/sub/a.txt")" = a
              test "$(cat "$KILN_INPUTS/train/notes.txt")" = written-in-place
              echo "got=${{ steps.train.outputs.kind }}" >> "$KILN_OUTPUTS"
        """
        .replace("@MODULE@", MODULE.toString())
        .replace("@PYTHON@", PYTHON.toString())
        .replace("@SCRIPT@", file.toString());
  }

  @Test
  void metricsOutputsAndArtifactsWrittenThroughTheModuleLandInTheStore() throws Exception {
    long run =
        start(
            engine,
            pipeline(
                """
                import os, kiln
                for loss in (0.5, 0.25, 1e-05):
                    kiln.log_metric("loss", loss)
                kiln.log_metric("accuracy", 0.93)
                kiln.log_metric("rows", 120)
                kiln.output("kind", "forest")
                kiln.output("params", "depth=3, trees=100")
                with open("model.bin", "w") as f:
                    f.write("weights")
                os.makedirs("out/sub")
                with open("out/sub/a.txt", "w") as f:
                    f.write("a")
                kiln.artifact("model.bin")
                kiln.artifact("out", name="report")
                with open(kiln.artifact_path("notes.txt"), "w") as f:
                    f.write("written-in-place")
                """),
            Map.of());
    RunRecord end = awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status())
        .as("%s %s", engine.store().tasks(run), engine.store().logs(run, "train"))
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(engine.store().metrics(run).get("train"))
        .containsEntry("loss", List.of(0.5, 0.25, 1e-05))
        .containsEntry("accuracy", List.of(0.93))
        .containsEntry("rows", List.of(120.0));
    assertThat(task(run, "train").outputs())
        .containsEntry("kind", "forest")
        .containsEntry("params", "depth=3, trees=100");
    assertThat(task(run, "use").outputs()).containsEntry("got", "forest");
    assertThat(new RunQueries(engine.db()).artifacts(run))
        .extracting(a -> a.name() + ":" + a.kind())
        .containsExactlyInAnyOrder("model.bin:file", "report:dir", "notes.txt:file");
  }

  @Test
  void aValueTheContractCannotCarryFailsTheStepInPythonNamingIt() throws Exception {
    long run =
        start(
            engine,
            pipeline(
                """
                import kiln
                kiln.log_metric("loss", float("nan"))
                """),
            Map.of());
    RunRecord end = awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status()).isEqualTo(RunStatus.FAILED);
    assertThat(engine.store().logs(run, "train"))
        .anySatisfy(
            l -> assertThat(l.line()).contains("metric 'loss' must be a finite number, got nan"));
    assertThat(engine.store().metrics(run)).doesNotContainKey("train");
  }
}
