package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Summary;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Matrix steps through the run life cycle against a real PostgreSQL, the test as the worker. */
class RunServiceMatrixTest {
  @TempDir Path home;
  Engine engine;

  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final List<String> QUEUES = List.of("default");

  private static final String GRID = """
      name: grid
      steps:
        train:
          matrix: { lr: [0.1, 0.01], seed: [1, 2] }
          run: echo "${{ matrix.lr }} ${{ matrix.seed }}"
        best:
          needs: [train]
          run: echo '${{ steps.train.outputs.acc }}'
      """;

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
  }

  @AfterEach
  void close() {
    engine.close();
  }

  private static Pipeline parse(String yaml) throws Exception {
    return PipelineParser.parse("t.yaml", yaml).orThrow();
  }

  private List<ClaimedTask> claim(int n) {
    return engine.queue().claim("w1", QUEUES, n, LEASE);
  }

  private ClaimedTask claimed(List<ClaimedTask> tasks, String name) {
    return tasks.stream().filter(t -> t.stepId().equals(name)).findFirst().orElseThrow();
  }

  private static Completion ok(String acc) {
    return new Completion(Completion.Outcome.SUCCEEDED, 0, null, Map.of("acc", acc), List.of(),
        List.of());
  }

  private RunStatus status(long run) {
    return engine.store().run(run).orElseThrow().status();
  }

  @Test
  void combinationsRunAsTasksAndTheDependentReadsTheirOutputsInCombinationOrder()
      throws Exception {
    Pipeline p = parse(GRID);
    long run = engine.runs().createRun(p, Map.of(), "manual", null);
    List<ClaimedTask> tasks = claim(10);
    assertThat(tasks).extracting(ClaimedTask::stepId).containsExactly(
        "train[lr=0.1,seed=1]", "train[lr=0.1,seed=2]", "train[lr=0.01,seed=1]",
        "train[lr=0.01,seed=2]");
    assertThat(claimed(tasks, "train[lr=0.01,seed=2]").spec().command())
        .isEqualTo("echo \"0.01 2\"");
    // Finish in reverse: the list follows the combinations, not the order they finished in.
    List<ClaimedTask> reversed = new ArrayList<>(tasks);
    java.util.Collections.reverse(reversed);
    int acc = 4;
    for (ClaimedTask t : reversed) {
      assertThat(claim(10)).isEmpty();
      assertThat(engine.runs().complete(t, ok("0." + acc--))).isTrue();
    }
    ClaimedTask best = claim(10).get(0);
    assertThat(best.stepId()).isEqualTo("best");
    assertThat(best.spec().command()).isEqualTo("echo '[\"0.1\",\"0.2\",\"0.3\",\"0.4\"]'");
    engine.runs().complete(best, ok("0.4"));
    assertThat(status(run)).isEqualTo(RunStatus.SUCCEEDED);

    Map<String, Object> summary = Summary.map(engine.store().run(run).orElseThrow(),
        engine.store().tasks(run), p);
    @SuppressWarnings("unchecked")
    Map<String, Object> train = ((List<Map<String, Object>>) summary.get("steps")).get(0);
    assertThat(train).containsEntry("id", "train").containsEntry("status", "succeeded")
        .containsEntry("attempts", 4)
        .containsEntry("outputs", Map.of("acc", List.of("0.1", "0.2", "0.3", "0.4")));
    assertThat((List<?>) train.get("tasks")).hasSize(4).first()
        .isEqualTo(Map.of("name", "train[lr=0.1,seed=1]", "matrix", Map.of("lr", 0.1, "seed", 1L),
            "status", "succeeded", "attempts", 1,
            "started_at", ((Map<?, ?>) ((List<?>) train.get("tasks")).get(0)).get("started_at"),
            "finished_at", ((Map<?, ?>) ((List<?>) train.get("tasks")).get(0)).get("finished_at"),
            "outputs", Map.of("acc", "0.1")));
  }

  @Test
  void failedCombinationFailsTheRunOnlyAfterTheOthersAndRetryRerunsOnlyIt() throws Exception {
    long run = engine.runs().createRun(parse(GRID), Map.of(), "manual", null);
    List<ClaimedTask> tasks = claim(10);
    engine.runs().complete(claimed(tasks, "train[lr=0.1,seed=2]"), Completion.failed("diverged"));
    assertThat(status(run)).isEqualTo(RunStatus.RUNNING);
    for (ClaimedTask t : tasks) {
      if (!t.stepId().equals("train[lr=0.1,seed=2]")) {
        assertThat(engine.runs().complete(t, ok(t.stepId().contains("0.01") ? "0.9" : "0.8")))
            .isTrue();
      }
    }
    assertThat(status(run)).isEqualTo(RunStatus.FAILED);
    assertThat(engine.store().tasks(run)).filteredOn(t -> t.stepId().equals("best"))
        .singleElement().extracting(TaskRecord::status).isEqualTo(StepStatus.SKIPPED);

    long again = engine.runs().retry(run);
    assertThat(engine.store().tasks(again))
        .filteredOn(t -> t.reusedFrom() != null).extracting(TaskRecord::stepId)
        .containsExactlyInAnyOrder("train[lr=0.1,seed=1]", "train[lr=0.01,seed=1]",
            "train[lr=0.01,seed=2]");
    List<ClaimedTask> rerun = claim(10);
    assertThat(rerun).extracting(ClaimedTask::stepId).containsExactly("train[lr=0.1,seed=2]");
    engine.runs().complete(rerun.get(0), ok("0.7"));
    ClaimedTask best = claim(10).get(0);
    assertThat(best.spec().command()).isEqualTo("echo '[\"0.8\",\"0.7\",\"0.9\",\"0.9\"]'");
    engine.runs().complete(best, ok("0.9"));
    assertThat(status(again)).isEqualTo(RunStatus.SUCCEEDED);
  }

  @Test
  void cancelStopsEveryCombinationQueuedOrRunning() throws Exception {
    long run = engine.runs().createRun(parse(GRID), Map.of(), "manual", null);
    List<ClaimedTask> running = claim(2);
    assertThat(engine.runs().cancel(run)).isEqualTo(RunService.CancelResult.CANCELLED);
    for (ClaimedTask t : running) {
      assertThat(engine.queue().heartbeat(t, LEASE)).contains(true);
    }
    assertThat(claim(10)).isEmpty();
    for (ClaimedTask t : running) {
      engine.runs().complete(t, Completion.cancelled("run cancelled"));
    }
    assertThat(engine.store().tasks(run)).extracting(TaskRecord::stepId, TaskRecord::status)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("train[lr=0.1,seed=1]", StepStatus.CANCELLED),
            org.assertj.core.groups.Tuple.tuple("train[lr=0.1,seed=2]", StepStatus.CANCELLED),
            org.assertj.core.groups.Tuple.tuple("train[lr=0.01,seed=1]", StepStatus.CANCELLED),
            org.assertj.core.groups.Tuple.tuple("train[lr=0.01,seed=2]", StepStatus.CANCELLED),
            org.assertj.core.groups.Tuple.tuple("best", StepStatus.CANCELLED));
    assertThat(status(run)).isEqualTo(RunStatus.CANCELLED);
  }
}
