package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** on_failure / on_success hooks against a real PostgreSQL, with the test playing the worker. */
class HooksTest {
  @TempDir Path home;
  Engine engine;

  private static final Duration LEASE = Duration.ofSeconds(30);

  private static final String HOOKS =
      """
      name: hooks
      steps:
        a: { run: echo a }
        b: { needs: [a], run: echo b }
      on_failure:
        alert: { run: "echo ${{ steps.a.status }} ${{ steps.b.status }}" }
        page: { needs: [alert], run: echo paged }
      on_success:
        thanks: { run: "echo ${{ steps.b.outputs.n }}" }
      """;

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
  }

  @AfterEach
  void close() {
    engine.close();
  }

  private long start() throws Exception {
    return engine
        .runs()
        .createRun(PipelineParser.parse("t.yaml", HOOKS).orThrow(), Map.of(), "manual", null);
  }

  private ClaimedTask claim(String step) {
    List<ClaimedTask> c = engine.queue().claim("w", List.of("default"), 5, LEASE);
    assertThat(c).extracting(ClaimedTask::stepId).containsExactly(step);
    return c.get(0);
  }

  private Map<String, StepStatus> steps(long run) {
    return engine.store().tasks(run).stream()
        .collect(Collectors.toMap(TaskRecord::stepId, TaskRecord::status));
  }

  private static Completion ok(Map<String, String> outputs) {
    return new Completion(Completion.Outcome.SUCCEEDED, 0, null, outputs, List.of(), List.of());
  }

  @Test
  void failureRunsOnFailureHooksAfterEveryStepSettledAndSkipsOnSuccess() throws Exception {
    long run = start();
    engine.runs().complete(claim("a"), Completion.failed("boom"));
    // b is skipped with its failed need; only then do the failure hooks start, seeing both.
    ClaimedTask alert = claim("alert");
    assertThat(PlannerTest.expanded(alert.spec())).isEqualTo("echo \"failed\" \"skipped\"");
    assertThat(steps(run)).containsEntry("thanks", StepStatus.SKIPPED);
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.RUNNING);
    engine.runs().complete(alert, ok(Map.of()));
    engine.runs().complete(claim("page"), ok(Map.of()));
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.FAILED);
    assertThat(steps(run))
        .containsEntry("alert", StepStatus.SUCCEEDED)
        .containsEntry("page", StepStatus.SUCCEEDED)
        .containsEntry("b", StepStatus.SKIPPED);
  }

  @Test
  void successRunsOnSuccessHooksWithOutputsAndAFailedHookFailsTheRun() throws Exception {
    long run = start();
    engine.runs().complete(claim("a"), ok(Map.of()));
    engine.runs().complete(claim("b"), ok(Map.of("n", "7")));
    ClaimedTask thanks = claim("thanks");
    assertThat(PlannerTest.expanded(thanks.spec())).isEqualTo("echo \"7\"");
    assertThat(steps(run))
        .containsEntry("alert", StepStatus.SKIPPED)
        .containsEntry("page", StepStatus.SKIPPED);
    engine.runs().complete(thanks, Completion.failed("webhook down"));
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.FAILED);
  }

  @Test
  void cancelledRunCancelsItsHooks() throws Exception {
    long run = start();
    ClaimedTask a = claim("a");
    engine.runs().cancel(run);
    engine.runs().complete(a, Completion.cancelled("run cancelled"));
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(steps(run))
        .containsEntry("alert", StepStatus.CANCELLED)
        .containsEntry("thanks", StepStatus.CANCELLED);
  }
}
