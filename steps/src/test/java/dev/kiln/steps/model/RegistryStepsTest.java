package dev.kiln.steps.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.run.Reproduction;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's built-in steps in small real runs: versions, gates and bad input. */
class RegistryStepsTest {
  @TempDir Path home;
  @TempDir Path base;
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
                    "steps-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
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

  long rows(String table) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c -> Sql.one(c, "select count(*) from " + table, rs -> rs.getLong(1)).orElseThrow());
  }

  static final String VERSION_IT =
      """
      name: snap
      steps:
        snap:
          uses: dataset/version
          with: { name: iris, path: data/iris.csv }
      """;

  @Test
  void sameContentIsTheSameVersionStoredOnceAndNewContentTheNext() throws Exception {
    Files.createDirectories(base.resolve("data"));
    Files.writeString(base.resolve("data/iris.csv"), "sepal,species\n5.1,setosa\n6.2,virginica\n");
    RunRecord a = run(VERSION_IT);
    RunRecord b = run(VERSION_IT);
    assertThat(a.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(a, "snap").outputs())
        .containsEntry("version", "1")
        .containsEntry("rows", "2")
        .containsEntry("uri", "dataset:iris@1");
    assertThat(task(b, "snap").outputs()).containsEntry("version", "1");
    Path stored = Path.of(task(a, "snap").outputs().get("path"));
    assertThat(Files.readString(stored)).startsWith("sepal,species");
    assertThat(task(a, "snap").outputs().get("sha256")).isEqualTo(stored.getFileName().toString());

    Files.writeString(base.resolve("data/iris.csv"), "sepal,species\n5.1,setosa\n");
    RunRecord c = run(VERSION_IT);
    assertThat(task(c, "snap").outputs()).containsEntry("version", "2").containsEntry("rows", "1");
    List<DatasetVersion> versions = engine.datasets().versions("iris");
    assertThat(versions).extracting(DatasetVersion::version).containsExactly(1, 2);
    assertThat(versions.get(0).schema())
        .containsExactly(
            new DatasetVersion.Column("sepal", "DOUBLE"),
            new DatasetVersion.Column("species", "VARCHAR"));
    assertThat(versions.get(0).runId()).isEqualTo(a.id());
    assertThat(engine.datasets().readsOf(b.id()))
        .extracting(DatasetVersion::ref)
        .containsExactly("iris@1");
  }

  @Test
  void parquetAndGzippedCsvFilesGetRowsAndSchemaToo() throws Exception {
    try (var c = DriverManager.getConnection("jdbc:duckdb:");
        var st = c.createStatement()) {
      st.execute(
          "copy (select range as id, 'x' || range as name from range(5)) to '"
              + base.resolve("t.parquet")
              + "' (format parquet)");
      st.execute(
          "copy (select range as id from range(3)) to '"
              + base.resolve("t.csv.gz")
              + "' (header, compression gzip)");
    }
    RunRecord r =
        run(
            """
        name: formats
        steps:
          pq:
            uses: dataset/version
            with: { name: pq, path: t.parquet }
          gz:
            uses: dataset/version
            with: { name: gz, path: t.csv.gz }
        """);
    assertThat(r.status()).as("%s", engine.store().tasks(r.id())).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "pq").outputs()).containsEntry("rows", "5");
    assertThat(engine.datasets().versions("pq").get(0).schema())
        .containsExactly(
            new DatasetVersion.Column("id", "BIGINT"),
            new DatasetVersion.Column("name", "VARCHAR"));
    assertThat(task(r, "gz").outputs()).containsEntry("rows", "3");
  }

  @Test
  void aDatasetPathThatDoesNotExistFailsTheStepNamingIt() throws Exception {
    RunRecord r = run(VERSION_IT);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "snap").error())
        .contains("dataset/version: with.path: path 'data/iris.csv' does not exist");
    assertThat(rows("dataset_versions")).isZero();
  }

  @Test
  void badInputFailsTheStepAtOnceWithoutSpendingItsRetries() throws Exception {
    RunRecord r =
        run(
            """
        name: no-retry
        steps:
          snap:
            uses: dataset/version
            retries: { max: 3, backoff: 10s }
            with: { name: iris, path: data/missing.csv }
          gate:
            uses: model/gate
            retries: 3
            with: { metric: accuracy, min: "${{ 'high' }}" }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "snap").attempt()).isEqualTo(1);
    assertThat(task(r, "snap").error()).contains("does not exist");
    assertThat(task(r, "gate").attempt()).isEqualTo(1);
    assertThat(task(r, "gate").error()).contains("min");
  }

  @Test
  void aGateReportsEveryFailedConditionAndPassesWhenNoneFails() throws Exception {
    RunRecord r =
        run(
            """
        name: gated
        steps:
          train:
            run: |
              echo "accuracy=0.8" >> "$KILN_METRICS"
              echo "loss=0.3" >> "$KILN_METRICS"
          strict:
            needs: [train]
            uses: model/gate
            with:
              conditions:
                - { metric: accuracy, min: 0.9 }
                - { metric: loss, max: 0.2 }
          lenient:
            needs: [train]
            uses: model/gate
            with: { metric: accuracy, min: 0.5 }
          after:
            needs: [strict]
            if: "${{ steps.strict.outputs.passed }}"
            run: echo never
        """);
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "strict").outputs()).containsEntry("passed", "false");
    assertThat(task(r, "strict").outputs().get("reasons"))
        .contains("accuracy 0.8000 < min 0.9000")
        .contains("loss 0.3000 > max 0.2000");
    assertThat(task(r, "lenient").outputs())
        .containsEntry("passed", "true")
        .containsEntry("reasons", "");
    assertThat(task(r, "after").status().db()).isEqualTo("skipped");
  }

  @Test
  void aGateOnAMetricTheRunNeverWroteFailsNamingIt() throws Exception {
    RunRecord r =
        run(
            """
        name: gated
        steps:
          train:
            run: echo "accuracy=0.8" >> "$KILN_METRICS"
          gate:
            needs: [train]
            uses: model/gate
            with: { metric: auc, min: 0.9 }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "gate").error())
        .contains("metric 'auc' was never written by this run")
        .contains("accuracy");
  }

  @Test
  void fairnessGateMeasuresParityAndOpportunityGapsBetweenGroups() throws Exception {
    // group a: predicted positive 3/4, of true positives 2/2; group b: 1/4 and 1/2.
    Files.writeString(
        base.resolve("scored.csv"),
        """
        label,prediction,group
        1,1,a
        1,1,a
        0,1,a
        0,0,a
        1,1,b
        1,0,b
        0,0,b
        0,0,b
        """);
    RunRecord r =
        run(
            """
        name: fair
        steps:
          loose:
            uses: model/gate
            with:
              fairness: { data: scored.csv, sensitive: group, positive: "1",
                          max_demographic_parity: 0.5, max_equal_opportunity: 0.5 }
          tight:
            uses: model/gate
            with:
              fairness: { data: scored.csv, sensitive: group, positive: "1",
                          max_demographic_parity: 0.4, max_equal_opportunity: 0.4 }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "loose").outputs()).containsEntry("passed", "true");
    assertThat(task(r, "tight").outputs()).containsEntry("passed", "false");
    assertThat(task(r, "tight").outputs().get("reasons"))
        .contains("demographic parity difference 0.5000 > max 0.4000")
        .contains("equal opportunity difference 0.5000 > max 0.4000");
  }

  @Test
  void registerRefusesAnArtifactPathEscapingItsFolderAndPromoteAnUnknownVersion() throws Exception {
    Path outside = base.getParent().resolve("outside-" + System.nanoTime() + ".bin");
    Files.writeString(outside, "x");
    try {
      RunRecord r =
          run(
              """
          name: reg
          steps:
            escape:
              uses: model/register
              with: { name: m, artifact: "../%s" }
            absolute:
              uses: model/register
              with: { name: m, artifact: "%s" }
            promote:
              uses: model/promote
              with: { name: m, version: 3, alias: production }
          """
                  .formatted(outside.getFileName(), outside));
      assertThat(r.status()).isEqualTo(RunStatus.FAILED);
      assertThat(task(r, "escape").error())
          .contains("model/register: with.artifact: path '../outside-")
          .contains("outside the folders built-in steps may use");
      assertThat(task(r, "absolute").error())
          .contains("with.artifact: path '" + outside + "'")
          .contains("outside the folders built-in steps may use");
      assertThat(task(r, "promote").error()).contains("no model 'm'");
      assertThat(rows("model_versions")).isZero();
      assertThat(rows("model_alias_events")).isZero();
    } finally {
      Files.deleteIfExists(outside);
    }
  }

  @Test
  void registerRecordsTheRunsMetricsAndAnAliasThatPromoteMovesLater() throws Exception {
    RunRecord r =
        run(
            """
        name: reg
        steps:
          train:
            run: |
              echo "accuracy=0.91" >> "$KILN_METRICS"
              echo "weights" > "$KILN_ARTIFACTS/model.bin"
          register:
            needs: [train]
            uses: model/register
            with: { name: m, artifact: "${{ steps.train.artifacts.model }}", alias: staging,
                    tags: { owner: ml } }
          again:
            needs: [register]
            uses: model/register
            with: { name: m, artifact: "${{ steps.train.artifacts.model }}", dedupe: false }
          promote:
            needs: [again]
            uses: model/promote
            with: { name: m, version: "${{ steps.again.outputs.version }}", alias: staging, reason: newer }
        """);
    assertThat(r.status()).as("%s", engine.store().tasks(r.id())).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "register").outputs())
        .containsEntry("name", "m")
        .containsEntry("version", "1");
    assertThat(task(r, "promote").outputs()).containsEntry("version", "2");
    var v1 = engine.models().get("m", 1).orElseThrow();
    assertThat(v1.metrics()).containsEntry("accuracy", 0.91);
    assertThat(v1.tags()).containsEntry("owner", "ml");
    assertThat(v1.gitCommit()).as("the pipeline file is in no git repository").isNull();
    assertThat(engine.models().history("m", "staging"))
        .extracting(e -> e.toVersion() + ":" + e.why())
        .containsExactly("1:registered by run " + r.id(), "2:newer");
  }

  static final String DEDUPE =
      """
      name: dedupe
      steps:
        prep:
          run: echo "rows=100" >> "$KILN_METRICS"
        train:
          needs: [prep]
          run: |
            echo "accuracy=0.9" >> "$KILN_METRICS"
            echo "f1=0.8" >> "$KILN_METRICS"
            echo "weights" > "$KILN_ARTIFACTS/model.bin"
        register:
          needs: [train]
          uses: model/register
          with: { name: d, artifact: "${{ steps.train.artifacts.model }}" }
        picked:
          needs: [register]
          uses: model/register
          with: { name: d2, artifact: "${{ steps.train.artifacts.model }}", metrics: [f1] }
        missing:
          needs: [register]
          continue_on_error: true
          uses: model/register
          with: { name: d3, artifact: "${{ steps.train.artifacts.model }}", metrics: auc }
      """;

  @Test
  void theSameArtifactIsNotRegisteredTwiceAndAVersionCarriesItsTrainingStepsMetrics()
      throws Exception {
    RunRecord first = run(DEDUPE);
    assertThat(first.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(first, "register").outputs())
        .containsEntry("version", "1")
        .containsEntry("existing", "false");
    assertThat(engine.models().get("d", 1).orElseThrow().metrics())
        .as("the training step's metrics, not prep's")
        .containsOnly(Map.entry("accuracy", 0.9), Map.entry("f1", 0.8));
    assertThat(engine.models().get("d2", 1).orElseThrow().metrics())
        .containsOnly(Map.entry("f1", 0.8));
    assertThat(task(first, "missing").error())
        .isEqualTo(
            "model/register: with.metrics: no metric 'auc' was written (there are [accuracy,"
                + " f1])");

    RunRecord second = run(DEDUPE);
    assertThat(task(second, "register").outputs())
        .containsEntry("version", "1")
        .containsEntry("existing", "true");
    assertThat(engine.models().versions("d")).hasSize(1);
    assertThat(engine.store().logs(second.id(), "register"))
        .anyMatch(l -> l.line().contains("is already d@1; not registered again"));
  }

  @Test
  void beatingTheProductionVersionHonoursAbsoluteAndRelativeMinimumImprovements() throws Exception {
    RunRecord champion =
        run(
            """
        name: champ
        steps:
          train:
            run: |
              echo "accuracy=0.8" >> "$KILN_METRICS"
              echo "w" > "$KILN_ARTIFACTS/model.bin"
          first:
            needs: [train]
            uses: model/gate
            with: { model: m, metric: accuracy, beat: production }
          register:
            needs: [first]
            uses: model/register
            with: { name: m, artifact: "${{ steps.train.artifacts.model }}", alias: production }
        """);
    assertThat(champion.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(champion, "first").outputs()).containsEntry("passed", "true");
    RunRecord challenger =
        run(
            """
        name: challenger
        steps:
          train:
            run: echo "accuracy=0.85" >> "$KILN_METRICS"
          absolute:
            needs: [train]
            uses: model/gate
            with: { model: m, metric: accuracy, beat: production, min_improvement: 0.1 }
          relative:
            needs: [train]
            uses: model/gate
            with: { model: m, metric: accuracy, beat: production, min_improvement_pct: 5 }
        """);
    assertThat(task(challenger, "absolute").outputs()).containsEntry("passed", "false");
    assertThat(task(challenger, "absolute").outputs().get("reasons"))
        .contains(
            "accuracy 0.8500 vs 0.8000 of m@1 (production): improvement 0.05000 < required 0.1000");
    assertThat(task(challenger, "relative").outputs()).containsEntry("passed", "true");
  }

  static final String TRAIN_ON_SNAPSHOT =
      """
      name: repro
      steps:
        snap:
          uses: dataset/version
          with: { name: iris, path: data/iris.csv }
        train:
          needs: [snap]
          run: |
            test -f "%s" || exit 1
            echo "rows=${{ steps.snap.outputs.rows }}" >> "$KILN_METRICS"
            cp "${{ steps.snap.outputs.path }}" "$KILN_ARTIFACTS/model.bin"
        register:
          needs: [train]
          uses: model/register
          with: { name: m, artifact: "${{ steps.train.artifacts.model }}" }
      """;

  @Test
  void aReproductionUsesThePinnedDatasetVersionAfterTheFileChanged() throws Exception {
    Files.createDirectories(base.resolve("data"));
    Files.writeString(base.resolve("data/iris.csv"), "sepal,species\n5.1,setosa\n6.2,virginica\n");
    Path ready = Files.createFile(base.resolve("ready"));
    RunRecord original = run(TRAIN_ON_SNAPSHOT.formatted(ready));
    assertThat(original.status())
        .as("%s", engine.store().tasks(original.id()))
        .isEqualTo(RunStatus.SUCCEEDED);
    Files.writeString(base.resolve("data/iris.csv"), "sepal,species\n1.0,other\n");

    Reproduction.Started s = Reproduction.start(engine, engine.models().get("m", 1).orElseThrow());
    RunRecord again = Pipelines.awaitEnd(engine, s.runId(), Duration.ofSeconds(60));
    assertThat(again.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(again.trigger()).isEqualTo("reproduce");
    assertThat(task(again, "snap").outputs())
        .containsEntry("version", "1")
        .containsEntry("rows", "2");
    assertThat(engine.datasets().versions("iris")).hasSize(1);
    assertThat(engine.models().runMetrics(again.id())).containsEntry("rows", 2.0);
    // The same data, params and code made the same artifact: the existing version, not a copy.
    assertThat(task(again, "register").outputs())
        .containsEntry("version", "1")
        .containsEntry("existing", "true");
    assertThat(engine.models().versions("m")).hasSize(1);
    assertThat(engine.datasets().readsOf(again.id()))
        .extracting(DatasetVersion::ref)
        .containsExactly("iris@1");
  }

  @Test
  void aModelRegisteredByARetryKeepsTheDatasetReadsOfTheReusedSteps() throws Exception {
    Files.createDirectories(base.resolve("data"));
    Files.writeString(base.resolve("data/iris.csv"), "sepal,species\n5.1,setosa\n");
    Path ready = base.resolve("ready");
    RunRecord failed = run(TRAIN_ON_SNAPSHOT.formatted(ready));
    assertThat(failed.status()).isEqualTo(RunStatus.FAILED);
    Files.createFile(ready);
    long retry = engine.runs().retry(failed.id());
    RunRecord r = Pipelines.awaitEnd(engine, retry, Duration.ofSeconds(60));
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "snap").reusedFrom()).isNotNull();
    assertThat(engine.models().get("m", 1).orElseThrow().runId()).isEqualTo(retry);
    assertThat(engine.datasets().readsOf(retry))
        .extracting(DatasetVersion::ref)
        .containsExactly("iris@1");
  }

  @Test
  void aFolderIsVersionedAsOneDirectoryArtifactWithoutRows() throws Exception {
    Files.createDirectories(base.resolve("images/cats"));
    Files.writeString(base.resolve("images/cats/a.txt"), "meow");
    Files.writeString(base.resolve("images/b.txt"), "woof");
    RunRecord r =
        run(
            """
        name: folder
        steps:
          snap:
            uses: dataset/version
            with: { name: images, path: images }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(r, "snap").outputs()).containsEntry("version", "1").containsEntry("rows", "");
    Path stored = Path.of(task(r, "snap").outputs().get("path"));
    assertThat(Files.readString(stored.resolve("cats/a.txt"))).isEqualTo("meow");
    assertThat(engine.datasets().versions("images").get(0).kind()).isEqualTo("dir");
    assertThat(engine.datasets().versions("images").get(0).size()).isEqualTo(8);
  }
}
