package dev.kiln.workers.docker;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.docker.DockerSupport.containersOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pipelines/breast-cancer end to end: scikit-learn in kiln/python-ml:1, model passed on. */
class BreastCancerPipelineTest {
  @TempDir Path home;

  static final Path PIPELINE =
      Path.of("..", "pipelines", "breast-cancer", "breast-cancer.yaml")
          .toAbsolutePath()
          .normalize();

  @Test
  void trainsAModelInAContainerAndEvaluatesItInAnother() throws Exception {
    DockerSupport.requireImage(DockerSupport.PYTHON_ML);
    var pipeline = PipelineParser.parse(PIPELINE).orThrow();
    try (Engine engine =
        new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh())) {
      try (WorkerRuntime.Handle worker =
          WorkerRuntime.load()
              .start(
                  engine,
                  new WorkerRuntime.Options(
                      "bc-worker", List.of("default"), 2, Duration.ofSeconds(10), null))) {
        long run =
            engine
                .runs()
                .createRun(
                    pipeline, dev.kiln.dsl.parse.Params.bind(pipeline, Map.of()), "manual", null);
        var r = awaitEnd(engine, run, Duration.ofMinutes(4));
        assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);

        Map<String, List<Double>> train = engine.store().metrics(run).get("train");
        Map<String, List<Double>> eval = engine.store().metrics(run).get("evaluate");
        assertThat(train.get("accuracy").get(0)).isGreaterThan(0.9);
        assertThat(train.get("test_rows")).containsExactly(143.0);
        // The evaluate step scored the very model train made, on the same held-out rows.
        assertThat(eval.get("eval_accuracy")).isEqualTo(train.get("accuracy"));
        List<String> artifacts =
            engine
                .db()
                .tx()
                .inTransaction(
                    c ->
                        Sql.query(
                            c,
                            "select name from artifacts where run_id = ? order by name",
                            rs -> rs.getString(1),
                            run));
        assertThat(artifacts).containsExactly("model.joblib", "test.csv");
        String digest =
            engine
                .db()
                .tx()
                .inTransaction(
                    c ->
                        Sql.query(
                            c,
                            "select image_digest from tasks where run_id = ? and step_id = 'train'",
                            rs -> rs.getString(1),
                            run))
                .get(0);
        String imageId =
            DockerSupport.engine().client().inspectImageCmd(DockerSupport.PYTHON_ML).exec().getId();
        assertThat(digest).isEqualTo(imageId);
      }
    }
    assertThat(containersOf(home)).isEmpty();
  }
}
