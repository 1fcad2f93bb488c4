package dev.kiln.steps.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The flagship pipeline, run for real through the worker loop, twice and more. */
class FlagshipTest {
  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final Path FILE = REPO.resolve("pipelines/flagship/flagship.yaml");

  @TempDir Path home;
  Engine engine;
  WorkerRuntime.Handle worker;

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "flagship-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  static Pipeline pipeline() throws Exception {
    return PipelineParser.parse(FILE.toString(), Files.readString(FILE)).orThrow();
  }

  RunRecord run(Map<String, String> params) throws Exception {
    Pipeline p = pipeline();
    long id = engine.runs().createRun(p, Params.bind(p, params), "manual", REPO.toString());
    return Pipelines.awaitEnd(engine, id, Duration.ofSeconds(120));
  }

  String tasks(long run) {
    return engine.store().tasks(run).stream()
        .map(
            t ->
                t.stepId()
                    + "="
                    + t.status().db()
                    + (t.error() == null ? "" : " (" + t.error() + ")"))
        .collect(Collectors.joining(", "));
  }

  String output(long run, String step, String key) {
    TaskRecord t =
        engine.store().tasks(run).stream()
            .filter(x -> x.stepId().equals(step))
            .findFirst()
            .orElseThrow();
    return t.outputs().get(key);
  }

  @Test
  void twoRunsMakeTwoVersionsAndOnlyABetterOneIsPromoted() throws Exception {
    RunRecord first = run(Map.of());
    assertThat(first.status()).as(tasks(first.id())).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(output(first.id(), "quality", "passed"))
        .as(output(first.id(), "quality", "reasons"))
        .isEqualTo("true");

    List<DatasetVersion> data = engine.datasets().versions("breast-cancer");
    assertThat(data).hasSize(1);
    assertThat(data.get(0).rows()).isEqualTo(569L);
    assertThat(data.get(0).schema())
        .hasSize(31)
        .contains(new DatasetVersion.Column("diagnosis", "VARCHAR"));

    ModelVersion v1 = engine.models().get("breast-cancer", 1).orElseThrow();
    assertThat(v1.metrics().get("accuracy")).isGreaterThan(0.9);
    assertThat(v1.metrics()).containsKeys("precision", "recall", "f1", "roc_auc");
    assertThat(v1.params()).containsEntry("seed", 7).containsKey("data");
    assertThat(v1.tags())
        .containsEntry("trainer", "tribuo-logistic")
        .containsEntry("data", "dataset:breast-cancer@1");
    assertThat(engine.models().lookup("breast-cancer", "production").map(ModelVersion::version))
        .contains(1);

    // The same data and seed again: a second version, equal metrics, so production stays at 1.
    RunRecord second = run(Map.of());
    assertThat(second.status()).as(tasks(second.id())).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(engine.datasets().versions("breast-cancer")).hasSize(1);
    ModelVersion v2 = engine.models().get("breast-cancer", 2).orElseThrow();
    assertThat(v2.metrics().get("accuracy")).isEqualTo(v1.metrics().get("accuracy"));
    assertThat(output(second.id(), "challenge", "passed")).isEqualTo("false");
    assertThat(output(second.id(), "challenge", "reasons")).contains("does not beat");
    assertThat(
            engine.store().tasks(second.id()).stream()
                .filter(t -> t.stepId().equals("promote"))
                .findFirst()
                .orElseThrow()
                .status()
                .db())
        .isEqualTo("skipped");
    assertThat(engine.models().lookup("breast-cancer", "production").map(ModelVersion::version))
        .contains(1);

    // Another split (seed 1) scores higher with this data and trainer: it is promoted.
    RunRecord third = run(Map.of("seed", "1"));
    assertThat(third.status()).as(tasks(third.id())).isEqualTo(RunStatus.SUCCEEDED);
    ModelVersion v3 = engine.models().get("breast-cancer", 3).orElseThrow();
    assertThat(v3.params()).containsEntry("seed", 1);
    assertThat(v3.metrics().get("accuracy")).isGreaterThan(v1.metrics().get("accuracy"));
    assertThat(output(third.id(), "promote", "version")).isEqualTo("3");
    assertThat(engine.models().lookup("breast-cancer", "production").map(ModelVersion::version))
        .contains(3);

    // Lineage: run, pipeline version, the dataset version read, the git commit of the pipeline.
    assertThat(v2.runId()).isEqualTo(second.id());
    assertThat(v2.pipelineVersion()).isEqualTo(second.pipelineVersion());
    assertThat(engine.datasets().readsOf(v2.runId()))
        .extracting(DatasetVersion::ref)
        .containsExactly("breast-cancer@1");
    assertThat(v2.gitCommit()).matches("[0-9a-f]{40}");
    assertThat(Files.isRegularFile(engine.artifacts().path(v2.artifactSha256()))).isTrue();
    assertThat(engine.models().history("breast-cancer", "production"))
        .extracting(e -> e.fromVersion() + "->" + e.toVersion())
        .containsExactly("null->1", "1->3");
  }
}
