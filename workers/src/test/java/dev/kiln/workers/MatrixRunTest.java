package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.RunStatus;
import dev.kiln.engine.run.StepStatus;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.TaskRecord;
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

/** Matrix steps through the real worker loop and process executor, on a real PostgreSQL. */
class MatrixRunTest {
  @TempDir Path home;
  @TempDir Path scratch;
  Engine engine;
  WorkerRuntime.Handle worker;

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker = WorkerRuntime.load().start(engine, new WorkerRuntime.Options("test-worker",
        List.of("default"), 4, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  private TaskRecord task(long run, String name) {
    return engine.store().tasks(run).stream().filter(t -> t.stepId().equals(name)).findFirst()
        .orElseThrow();
  }

  @Test
  void eachCombinationRunsWithItsOwnValuesAndTheDependentGetsListsAndInputs() {
    long run = start(engine, """
        name: grid
        steps:
          train:
            matrix: { lr: [0.1, 0.01], seed: [1, 2] }
            retries: { max: 1, backoff: 1ms }
            run: |
              # the first attempt of one combination fails: its retry is its own
              if [ "${{ matrix.lr }}-$SEED" = 0.01-1 ] && [ ! -f "%1$s/retried" ]; then
                touch "%1$s/retried"; exit 7
              fi
              echo "training $KILN_STEP with $KILN_MATRIX"
              echo "score=${{ matrix.lr }}/${{ matrix.seed }}" >> "$KILN_OUTPUTS"
              echo "loss=${{ matrix.seed }}" >> "$KILN_METRICS"
              echo "$KILN_MATRIX" > "$KILN_ARTIFACTS/params.json"
            env: { SEED: "${{ matrix.seed }}" }
          pick:
            needs: [train]
            run: |
              echo 'scores=${{ steps.train.outputs.score }}' >> "$KILN_OUTPUTS"
              echo "status=${{ steps.train.status }}" >> "$KILN_OUTPUTS"
              echo "inputs=$(cat "$KILN_INPUTS/train/train[lr=0.01,seed=2]/params.json")" \\
                >> "$KILN_OUTPUTS"
        """.formatted(scratch), Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(engine.store().tasks(run)).extracting(TaskRecord::stepId).containsExactlyInAnyOrder(
        "train[lr=0.1,seed=1]", "train[lr=0.1,seed=2]", "train[lr=0.01,seed=1]",
        "train[lr=0.01,seed=2]", "pick");
    assertThat(task(run, "train[lr=0.01,seed=1]").attempt()).isEqualTo(2);
    assertThat(task(run, "train[lr=0.1,seed=1]").attempt()).isEqualTo(1);
    assertThat(task(run, "pick").outputs()).containsEntry("scores",
        "[\"0.1/1\",\"0.1/2\",\"0.01/1\",\"0.01/2\"]")
        .containsEntry("status", "succeeded")
        .containsEntry("inputs", "{\"lr\":0.01,\"seed\":2}");
    assertThat(engine.store().metrics(run)).containsEntry("train[lr=0.1,seed=2]",
        Map.of("loss", List.of(2.0)));
    List<LogLine> logs = engine.store().logs(run, "train");
    assertThat(logs).extracting(LogLine::line).contains(
        "training train[lr=0.1,seed=2] with {\"lr\":0.1,\"seed\":2}");
    assertThat(engine.store().logs(run, "train[lr=0.1,seed=2]")).extracting(LogLine::line)
        .containsExactly("training train[lr=0.1,seed=2] with {\"lr\":0.1,\"seed\":2}");
  }

  @Test
  void cancelStopsEveryRunningCombination() throws Exception {
    long run = start(engine, """
        name: cancel-grid
        steps:
          long:
            matrix: { n: [1, 2, 3] }
            run: |
              echo $$ > "%s/${{ matrix.n }}.pid"
              sleep 300
          after: { needs: [long], run: echo never }
        """.formatted(scratch), Map.of());
    List<Path> pids = List.of(scratch.resolve("1.pid"), scratch.resolve("2.pid"),
        scratch.resolve("3.pid"));
    await(() -> pids.stream().allMatch(Pipelines::pidWritten), WITHIN, "all three to start");
    engine.runs().cancel(run);
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(engine.store().tasks(run)).hasSize(4).extracting(TaskRecord::status)
        .containsOnly(StepStatus.CANCELLED);
    for (Path pid : pids) {
      long shell = Long.parseLong(Files.readString(pid).trim());
      await(() -> ProcessHandle.of(shell).map(h -> !h.isAlive()).orElse(true),
          Duration.ofSeconds(10), "the shell of " + pid.getFileName() + " to be gone");
    }
  }
}
