package dev.kiln.steps.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetUsage;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
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

/** The built-in steps in a real run: training set as a dataset version, materialize, skew. */
class FeatureStepsTest {
  @TempDir Path home;
  @TempDir Path base;
  Engine engine;
  WorkerRuntime.Handle worker;

  @BeforeEach
  void open() throws Exception {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "features-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
    Files.writeString(base.resolve("stats.csv"), TrainingSetTest.STATS);
    Files.writeString(base.resolve("profiles.csv"), TrainingSetTest.PROFILES);
    Files.writeString(base.resolve("features.yaml"), TrainingSetTest.DEFS);
    Files.writeString(
        base.resolve("entities.csv"),
        "customer_id,event_timestamp,label\n1,2024-01-05T00:00:00Z,1\n3,2024-01-05T00:00:00Z,0\n");
    new FeatureStore(engine).apply(DefinitionsParser.parseDir(base));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  RunRecord run(String yaml) throws Exception {
    Pipeline p = PipelineParser.parse(base.resolve("p.yaml").toString(), yaml).orThrow();
    long id = engine.runs().createRun(p, Map.of(), "manual", base.toString());
    Await.until("run " + id + " to end", Duration.ofSeconds(90), () -> engine.store().ended(id));
    return engine.store().run(id).orElseThrow();
  }

  TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void aRunBuildsATrainingSetDatasetMaterializesAndMeasuresNoSkew() throws Exception {
    RunRecord r =
        run(
            """
            name: features
            steps:
              training:
                uses: features/training-set
                with: { service: churn, entities: entities.csv, name: churn-train }
              materialize:
                needs: [training]
                uses: features/materialize
                with: { end: "2024-01-06T00:00:00Z" }
              skew:
                needs: [materialize]
                uses: features/skew
                with: { service: churn, sample: 50 }
            """);
    assertThat(r.status())
        .as(engine.store().tasks(r.id()).toString())
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "training").outputs())
        .containsEntry("rows", "2")
        .containsEntry("uri", "dataset:churn-train@1")
        .containsEntry("feature_service", "churn@1");
    DatasetVersion v = engine.datasets().get("churn-train", 1).orElseThrow();
    assertThat(v.runId()).isEqualTo(r.id());
    assertThat(v.rows()).isEqualTo(2);
    assertThat(v.schema())
        .extracting(DatasetVersion.Column::name)
        .containsExactly(
            "customer_id",
            "event_timestamp",
            "label",
            "customer_stats__spend",
            "customer_stats__n_orders",
            "profile__segment");
    assertThat(engine.datasets().readsOf(r.id()))
        .extracting(DatasetVersion::ref)
        .contains("churn-train@1");
    assertThat(task(r, "materialize").outputs()).containsEntry("rows", "3");
    assertThat(task(r, "skew").outputs())
        .containsEntry("skew", "0.0")
        .containsEntry("passed", "true");
  }

  @Test
  void anEntityDatasetIsRecordedAsReadByTheTrainingSetStep() throws Exception {
    ArtifactStore.Stored stored = engine.artifacts().put(base.resolve("entities.csv"));
    engine
        .datasets()
        .record(
            new DatasetRegistry.NewVersion(
                "churn-entities",
                stored.sha256(),
                stored.size(),
                stored.kind(),
                2L,
                List.of(),
                "entities.csv",
                null,
                null));
    RunRecord r =
        run(
            """
            name: features-entities
            steps:
              training:
                uses: features/training-set
                with: { service: churn, entities: "dataset:churn-entities@1", name: churn-train }
            """);
    assertThat(r.status())
        .as(engine.store().tasks(r.id()).toString())
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(engine.datasets().readsOf(r.id()))
        .extracting(DatasetVersion::ref)
        .containsExactlyInAnyOrder("churn-entities@1", "churn-train@1");
    assertThat(new DatasetUsage(engine.db()).reads("churn-entities", 1, 10))
        .extracting(DatasetUsage.Read::runId, DatasetUsage.Read::stepId)
        .containsExactly(tuple(r.id(), "training"));
  }

  @Test
  void badInputFailsTheStepWithOneLine() throws Exception {
    RunRecord r =
        run(
            """
            name: features-bad
            steps:
              training:
                uses: features/training-set
                with: { service: churn, entities: nowhere.csv }
            """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "training").error())
        .startsWith("features/training-set: with.entities: path 'nowhere.csv' does not exist");
  }
}
