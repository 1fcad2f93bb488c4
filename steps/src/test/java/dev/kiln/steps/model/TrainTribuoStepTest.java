package dev.kiln.steps.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunQueries;
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
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Model;

/**
 * train/tribuo's algorithms in real runs on real data (wine: three classes, iris: a numeric column
 * to predict and species to cluster), with few trees to stay quick.
 */
class TrainTribuoStepTest {
  @TempDir Path home;
  @TempDir Path base;
  Engine engine;
  WorkerRuntime.Handle worker;

  @BeforeEach
  void open() throws Exception {
    for (String f : List.of("iris.csv", "wine.csv")) {
      Files.copy(Path.of("src/test/resources/tribuo", f), base.resolve(f));
    }
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "tribuo-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  RunRecord run(String yaml) throws Exception {
    Pipeline p = PipelineParser.parse(base.resolve("test.yaml").toString(), yaml).orThrow();
    long id = engine.runs().createRun(p, Map.of(), "manual", base.toString());
    return Pipelines.awaitEnd(engine, id, Duration.ofSeconds(120));
  }

  TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  /** The last value of each metric a step wrote. */
  Map<String, Double> metrics(RunRecord r, String step) {
    return engine.store().metrics(r.id()).getOrDefault(step, Map.of()).entrySet().stream()
        .collect(
            Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get(e.getValue().size() - 1)));
  }

  Path artifact(RunRecord r, String step, String name) {
    RunQueries.Artifact a = new RunQueries(engine.db()).artifact(r.id(), step, name).orElseThrow();
    return engine.artifacts().path(a.sha256());
  }

  @Test
  void classifiersReportPerClassAndAveragedMetricsOnThreeClasses() throws Exception {
    RunRecord r =
        run(
            """
            name: wine
            steps:
              logistic: { uses: train/tribuo, with: { data: wine.csv, target: cultivar, seed: 3 } }
              cart:
                uses: train/tribuo
                with: { data: wine.csv, target: cultivar, algorithm: cart, max_depth: 4 }
              forest:
                uses: train/tribuo
                with:
                  data: wine.csv
                  target: cultivar
                  algorithm: random-forest
                  trees: 5
                  fraction_features: 0.5
              boosted:
                uses: train/tribuo
                with:
                  data: wine.csv
                  target: cultivar
                  positive: class_1
                  algorithm: xgboost
                  trees: 10
                  max_depth: 3
                  learning_rate: 0.5
            """);
    assertThat(r.status()).as(r.toString()).isEqualTo(RunStatus.SUCCEEDED);
    for (String step : List.of("logistic", "cart", "forest", "boosted")) {
      Map<String, Double> m = metrics(r, step);
      assertThat(m)
          .as(step)
          .containsKeys(
              "precision_class_0",
              "recall_class_1",
              "f1_class_2",
              "precision_macro",
              "recall_weighted",
              "f1_weighted");
      assertThat(m.get("accuracy")).as(step).isBetween(0.8, 1.0);
      assertThat(m.get("f1_macro")).as(step).isBetween(0.75, 1.0);
      assertThat(m.get("f1_weighted")).as(step).isBetween(0.75, 1.0);
      assertThat(m.get("test_rows")).as(step).isEqualTo(45.0);
      assertThat(task(r, step).outputs()).containsEntry("train_rows", "133");
    }
    // Binary names only with a positive class, for that class.
    assertThat(metrics(r, "logistic")).doesNotContainKeys("precision", "f1", "roc_auc");
    assertThat(metrics(r, "boosted")).containsKeys("precision", "recall", "f1", "roc_auc");
    assertThat(metrics(r, "boosted").get("f1")).isEqualTo(metrics(r, "boosted").get("f1_class_1"));
    assertThat(Files.readAllLines(artifact(r, "forest", "holdout.csv")))
        .hasSize(46)
        .first()
        .isEqualTo("label,prediction,score,group");

    // The model file carries its input signature, in the registry's format.
    Model<?> model = Model.deserializeFromFile(artifact(r, "boosted", "model.tribuo"));
    var recorded =
        (StringProvenance)
            model.getProvenance().getInstanceProvenance().getMap().get("kiln-signature");
    assertThat(recorded.getValue())
        .startsWith("[{\"name\":\"alcohol\",\"type\":\"number\"},")
        .contains("{\"name\":\"proline\",\"type\":\"number\"}")
        .doesNotContain("cultivar");
  }

  @Test
  void regressionsReportRmseMaeAndR2() throws Exception {
    RunRecord r =
        run(
            """
            name: petals
            steps:
              linear:
                uses: train/tribuo
                with:
                  data: iris.csv
                  target: petal_width_cm
                  features: [sepal_length_cm, sepal_width_cm, petal_length_cm]
                  algorithm: linear-regression
                  epochs: 30
                  learning_rate: 0.5
              tree:
                uses: train/tribuo
                with:
                  data: iris.csv
                  target: petal_width_cm
                  features: [sepal_length_cm, sepal_width_cm, petal_length_cm]
                  algorithm: cart-regression
                  max_depth: 4
            """);
    assertThat(r.status()).as(r.toString()).isEqualTo(RunStatus.SUCCEEDED);
    for (String step : List.of("linear", "tree")) {
      Map<String, Double> m = metrics(r, step);
      assertThat(m.get("r2")).as(step).isBetween(0.8, 1.0);
      assertThat(m.get("rmse")).as(step).isBetween(0.05, 0.4);
      assertThat(m.get("mae")).as(step).isBetween(0.02, m.get("rmse"));
      assertThat(m).as(step).doesNotContainKeys("accuracy", "f1_macro");
    }
    assertThat(Files.readAllLines(artifact(r, "tree", "holdout.csv")).get(0))
        .isEqualTo("label,prediction,group");
  }

  @Test
  void kmeansClustersIrisAndComparesTheClustersWithTheSpecies() throws Exception {
    RunRecord r =
        run(
            """
            name: clusters
            steps:
              kmeans:
                uses: train/tribuo
                with: { data: iris.csv, target: species, algorithm: kmeans, clusters: 3, seed: 1 }
              blind:
                uses: train/tribuo
                with:
                  data: iris.csv
                  features: [petal_length_cm, petal_width_cm]
                  algorithm: kmeans
                  clusters: 2
            """);
    assertThat(r.status()).as(r.toString()).isEqualTo(RunStatus.SUCCEEDED);
    Map<String, Double> m = metrics(r, "kmeans");
    assertThat(m.get("inertia")).isBetween(50.0, 300.0);
    assertThat(m.get("size_0") + m.get("size_1") + m.get("size_2")).isEqualTo(150.0);
    assertThat(m.get("nmi")).isBetween(0.5, 1.0);
    assertThat(m.get("ami")).isBetween(0.5, 1.0);
    assertThat(task(r, "kmeans").outputs()).containsEntry("train_rows", "150");
    assertThat(metrics(r, "blind")).containsKeys("inertia", "size_1").doesNotContainKey("nmi");
    assertThat(Files.readAllLines(artifact(r, "kmeans", "clusters.csv")))
        .hasSize(151)
        .first()
        .isEqualTo("row,cluster,label,group");
  }

  @Test
  void aHyperParameterOfTheWrongTypeIsAValidationErrorOfOneLine() throws Exception {
    Path p = base.resolve("typed.yaml");
    Files.writeString(
        p,
        """
        name: typed
        steps:
          forest:
            uses: train/tribuo
            with:
              data: wine.csv
              target: cultivar
              algorithm: random-forest
              trees: many
              fraction_features: half
              max_dept: 3
        """);
    List<String> problems =
        PipelineParser.parse(p, BuiltinStep.catalogue()).problems().stream()
            .map(Problem::toString)
            .toList();
    assertThat(problems)
        .hasSize(3)
        .allSatisfy(line -> assertThat(line).doesNotContain("\n"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains(":9:14:")
                    .contains("train/tribuo: 'with.trees' must be a whole number, got"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains("train/tribuo: 'with.fraction_features' must be a number, got"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains(
                        "train/tribuo: unknown key 'with.max_dept'; did you mean 'max_depth'?"));
  }

  @Test
  void aHyperParameterTheAlgorithmDoesNotTakeOrAnUnknownAlgorithmFailsAtOnce() throws Exception {
    RunRecord r =
        run(
            """
            name: wrong
            steps:
              depth:
                uses: train/tribuo
                retries: 2
                with: { data: iris.csv, target: species, max_depth: 3 }
              name:
                uses: train/tribuo
                with: { data: iris.csv, target: species, algorithm: xgbost }
              forest:
                uses: train/tribuo
                with:
                  data: iris.csv
                  target: species
                  algorithm: random-forest
                  fraction_features: 1
              split:
                uses: train/tribuo
                with: { data: iris.csv, algorithm: kmeans, test_fraction: 0.2 }
            """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    TaskRecord depth = task(r, "depth");
    assertThat(depth.status()).isEqualTo(StepStatus.FAILED);
    assertThat(depth.attempt()).isEqualTo(1);
    assertThat(depth.error())
        .isEqualTo(
            "train/tribuo: with.max_depth: not a hyper-parameter of algorithm 'logistic'"
                + " (it takes: epochs, learning_rate)");
    assertThat(task(r, "name").error())
        .isEqualTo(
            "train/tribuo: with.algorithm: 'xgbost' is not one of logistic, cart,"
                + " random-forest, xgboost, linear-regression, cart-regression, kmeans");
    assertThat(task(r, "forest").error())
        .isEqualTo(
            "train/tribuo: with.fraction_features: must be above 0 and below 1 for algorithm"
                + " 'random-forest', got 1.0");
    assertThat(task(r, "split").error())
        .isEqualTo(
            "train/tribuo: with.test_fraction: kmeans fits every row; there is no hold-out split");
  }
}
