package dev.kiln.steps.approval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import dev.kiln.workers.Pipelines;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** approval/wait in real runs, decided by the real `kiln approve` / `kiln reject` processes. */
class ApprovalWaitTest {
  @TempDir Path home;
  @TempDir Path base;
  Engine engine;
  WorkerRuntime.Handle worker;
  Kiln kiln;

  @BeforeEach
  void open() {
    TestDb.Url db = TestDb.freshUrl();
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(db.url(), db.user(), db.password(), 10));
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "approvals", List.of("default"), 2, Duration.ofSeconds(30), null));
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(),
                "KILN_DB_URL", db.url(),
                "KILN_DB_USER", db.user(),
                "KILN_USER", "carol"),
            base);
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  static final String GATED =
      """
      name: gated
      steps:
        gate:
          uses: approval/wait
          retries: 2
          with: { message: "ship it?", timeout: TIMEOUT }
        ship:
          needs: [gate]
          run: "echo shipped by ${{ steps.gate.outputs.approved_by }}"
      """;

  long start(String timeout) throws Exception {
    return engine
        .runs()
        .createRun(
            PipelineParser.parse("gated.yaml", GATED.replace("TIMEOUT", timeout)).orThrow(),
            Map.of(),
            "manual",
            base.toString());
  }

  TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  void awaitWaiting(long run) throws Exception {
    Approvals approvals = new Approvals(engine.db());
    Await.until(
        "the gate waits", Duration.ofSeconds(30), () -> approvals.find(run, "gate").isPresent());
  }

  @Test
  void approvePausesTheRunUntilApprovedAndRecordsTheApprover() throws Exception {
    long run = start("1h");
    awaitWaiting(run);
    assertThat(engine.store().tasks(run)).extracting(TaskRecord::stepId).doesNotContain("ship");
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.RUNNING);

    Kiln.Result r = kiln.run("approve", String.valueOf(run), "gate", "--reason", "looks good");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("run " + run + " step gate approved by carol");

    RunRecord end = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "gate").outputs())
        .containsEntry("approved_by", "carol")
        .containsEntry("reason", "looks good");

    Kiln.Result again = kiln.run("approve", String.valueOf(run), "gate");
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err().strip()).doesNotContain("\n").contains("already approved by carol");
    Kiln.Result noRun = kiln.run("approve", "9999", "gate");
    assertThat(noRun.err().strip()).isEqualTo("kiln: no run 9999 (see 'kiln runs')");
  }

  @Test
  void rejectFailsTheStepAtOnceWithoutRetries() throws Exception {
    long run = start("1h");
    awaitWaiting(run);
    Kiln.Result wrongStep = kiln.run("reject", String.valueOf(run), "ship");
    assertThat(wrongStep.exit()).isEqualTo(2);
    assertThat(wrongStep.err()).contains("step 'ship' of run " + run + " is not waiting");

    assertThat(kiln.run("reject", String.valueOf(run), "gate", "--reason", "not today").exit())
        .isZero();
    RunRecord end = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status()).isEqualTo(RunStatus.FAILED);
    TaskRecord gate = task(run, "gate");
    assertThat(gate.status()).isEqualTo(StepStatus.FAILED);
    assertThat(gate.attempt()).isEqualTo(1);
    assertThat(gate.error()).isEqualTo("approval/wait: rejected by carol: not today");
    assertThat(task(run, "ship").status()).isEqualTo(StepStatus.SKIPPED);
  }

  @Test
  void timeoutFailsTheStepAndLateApprovalsAreRefused() throws Exception {
    long run = start("1s");
    RunRecord end = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "gate").error()).isEqualTo("approval/wait: not approved within 1s");
    Kiln.Result late = kiln.run("approve", String.valueOf(run), "gate");
    assertThat(late.exit()).isEqualTo(2);
  }
}
