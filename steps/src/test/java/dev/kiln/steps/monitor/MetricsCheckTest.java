package dev.kiln.steps.monitor;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.TaskRecord;
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
 * metrics/check scores predictions against labels that arrived later. Expected values worked out by
 * hand (and equal to sklearn's: the regression data is sklearn's r2_score example).
 */
class MetricsCheckTest {
  @TempDir Path home;
  @TempDir Path dir;
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
                    "test-worker", List.of("default"), 4, Duration.ofSeconds(10), null));
    Files.writeString(
        dir.resolve("predictions.csv"),
        """
        id,prediction,score
        1,1,0.9
        2,1,0.8
        3,0,0.7
        4,1,0.6
        5,0,0.4
        6,0,0.3
        7,1,0.2
        8,0,0.1
        """);
    Files.writeString(dir.resolve("labels.csv"), "id,label\n1,1\n2,0\n3,1\n4,1\n5,0\n6,0\n7,0\n");
    Files.writeString(dir.resolve("reg_pred.csv"), "id,prediction\na,2.5\nb,0.0\nc,2\nd,8\n");
    Files.writeString(dir.resolve("reg_labels.csv"), "id,y\nd,7\nc,2\nb,-0.5\na,3\n");
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  private TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private static double num(TaskRecord t, String key) {
    return Double.parseDouble(t.outputs().get(key));
  }

  @Test
  void scoresLateLabelsAndFlagsMetricsThatFellBelowTheirReference() {
    long run =
        engine
            .runs()
            .createRun(
                Pipelines.parse(
                    """
        name: perf
        steps:
          cls:
            uses: metrics/check
            with:
              monitor: churn-model
              predictions: predictions.csv
              labels: labels.csv
              score: score
              reference: { accuracy: 0.7, roc_auc: 0.8 }
              tolerance: 0.05
          reg:
            uses: metrics/check
            with:
              monitor: price-model
              task: regression
              predictions: reg_pred.csv
              labels: reg_labels.csv
              label: y
              reference: { rmse: 0.5, r2: 0.9 }
          missing:
            uses: metrics/check
            continue_on_error: true
            with: { predictions: predictions.csv, labels: labels.csv, label: truth }
        """),
                Map.of(),
                "manual",
                dir.toString());
    awaitEnd(engine, run, Duration.ofSeconds(60));

    TaskRecord cls = task(run, "cls");
    assertThat(cls.status()).as(cls.error()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(num(cls, "accuracy")).isCloseTo(4.0 / 7, within(1e-12));
    assertThat(num(cls, "precision")).isCloseTo(0.5, within(1e-12));
    assertThat(num(cls, "recall")).isCloseTo(2.0 / 3, within(1e-12));
    assertThat(num(cls, "f1")).isCloseTo(4.0 / 7, within(1e-12));
    assertThat(num(cls, "roc_auc")).isCloseTo(10.0 / 12, within(1e-12));
    assertThat(cls.outputs())
        .containsEntry("matched", "7")
        .containsEntry("unlabeled", "1")
        .containsEntry("degraded", "true")
        .containsEntry("degraded_metrics", "accuracy")
        .containsEntry("incident_opened", "true");

    TaskRecord reg = task(run, "reg");
    assertThat(reg.status()).as(reg.error()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(num(reg, "mae")).isCloseTo(0.5, within(1e-12));
    assertThat(num(reg, "rmse")).isCloseTo(Math.sqrt(0.375), within(1e-12));
    assertThat(num(reg, "r2")).isCloseTo(1 - 1.5 / 29.1875, within(1e-12));
    assertThat(reg.outputs()).containsEntry("degraded_metrics", "rmse");

    TaskRecord missing = task(run, "missing");
    assertThat(missing.status()).isEqualTo(StepStatus.FAILED);
    assertThat(missing.error())
        .isEqualTo(
            "metrics/check: with.label: column 'truth' is missing from "
                + dir.resolve("labels.csv"));

    MonitorStore store = new MonitorStore(engine.db());
    List<MonitorStore.HistoryRow> h = store.history("churn-model", 10);
    assertThat(h).hasSize(1);
    assertThat(h.get(0).kind()).isEqualTo("metrics");
    assertThat(h.get(0).values())
        .filteredOn(MonitorStore.Value::alarm)
        .extracting(MonitorStore.Value::name)
        .containsExactly("accuracy");
    assertThat(store.incidents("price-model")).hasSize(1);
  }
}
