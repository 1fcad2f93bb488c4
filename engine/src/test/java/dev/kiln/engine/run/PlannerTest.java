package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.run.RunSnapshot.StepState;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.task.TaskSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlannerTest {

  /** The command with each KILN_EXPR_n reference replaced by its value, for reading in tests. */
  static String expanded(TaskSpec spec) {
    String out = spec.command();
    for (var e : spec.env().entrySet()) {
      if (e.getKey().startsWith("KILN_EXPR_")) {
        out = out.replace("${" + e.getKey() + "}", e.getValue());
      }
    }
    return out;
  }

  static Pipeline parse(String yaml) throws Exception {
    return PipelineParser.parse("test.yaml", yaml).orThrow();
  }

  static Plan plan(Pipeline p, RunStatus status, Map<String, StepState> steps) {
    return Planner.plan(
        p,
        Dag.of(p),
        new RunSnapshot(
            1,
            "manual",
            status,
            Map.of("who", "world", "flag", false),
            steps,
            "/pipes",
            "/base",
            null));
  }

  static StepState ok(Map<String, String> outputs) {
    return new StepState(StepStatus.SUCCEEDED, outputs, Map.of());
  }

  static StepState state(StepStatus s) {
    return new StepState(s, Map.of(), Map.of());
  }

  private static final String DIAMOND =
      """
      name: diamond
      params:
        who: { type: string, default: world }
        flag: { type: boolean, default: false }
      steps:
        a:
          run: echo a
        b:
          needs: [a]
          run: echo "${{ steps.a.outputs.x }} ${{ params.who }}"
          env: { RUN: "${{ run.id }}" }
        c:
          needs: [a]
          run: echo c
        d:
          needs: [b, c]
          run: echo d
      """;

  @Test
  void newRunStartsOnlyTheRootsAndBecomesRunning() throws Exception {
    Plan plan = plan(parse(DIAMOND), RunStatus.QUEUED, Map.of());
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("a");
    assertThat(plan.finish()).isEmpty();
    assertThat(plan.runStatus()).isEqualTo(RunStatus.RUNNING);
  }

  @Test
  void finishedRootFansOutWithItsOutputsResolvedIntoTheCommand() throws Exception {
    Plan plan = plan(parse(DIAMOND), RunStatus.RUNNING, Map.of("a", ok(Map.of("x", "42"))));
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("b", "c");
    TaskSpec b = plan.start().get(0).spec();
    assertThat(expanded(b)).isEqualTo("echo \"42 world\"");
    assertThat(b.env()).containsEntry("RUN", "1");
    assertThat(b.pipelineDir()).isEqualTo("/pipes");
    assertThat(plan.runStatus()).isNull();
  }

  @Test
  void fanInWaitsForEveryNeed() throws Exception {
    Map<String, StepState> s = new HashMap<>();
    s.put("a", ok(Map.of("x", "1")));
    s.put("b", ok(Map.of()));
    s.put("c", state(StepStatus.RUNNING));
    assertThat(plan(parse(DIAMOND), RunStatus.RUNNING, s).start()).isEmpty();
    s.put("c", ok(Map.of()));
    assertThat(plan(parse(DIAMOND), RunStatus.RUNNING, s).start())
        .extracting(Plan.Start::stepId)
        .containsExactly("d");
  }

  @Test
  void failedNeedSkipsDependentsAndFailsTheRun() throws Exception {
    Map<String, StepState> s = new HashMap<>();
    s.put("a", ok(Map.of("x", "1")));
    s.put("b", state(StepStatus.FAILED));
    s.put("c", ok(Map.of()));
    Plan plan = plan(parse(DIAMOND), RunStatus.RUNNING, s);
    assertThat(plan.start()).isEmpty();
    assertThat(plan.finish())
        .containsExactly(new Plan.Finish("d", StepStatus.SKIPPED, "needs 'b', which failed"));
    assertThat(plan.runStatus()).isEqualTo(RunStatus.FAILED);
  }

  @Test
  void falseConditionSkipsTheStepAndItsDependentsButTheRunSucceeds() throws Exception {
    Pipeline p =
        parse(
            """
        name: cond
        params:
          flag: { type: boolean, default: false }
        steps:
          a: { run: echo a }
          b: { needs: [a], if: "${{ params.flag }}", run: echo b }
          c: { needs: [b], run: echo c }
        """);
    Plan plan = plan(p, RunStatus.RUNNING, Map.of("a", ok(Map.of())));
    assertThat(plan.finish())
        .extracting(Plan.Finish::stepId, Plan.Finish::status)
        .containsExactly(tuple("b", StepStatus.SKIPPED), tuple("c", StepStatus.SKIPPED));
    assertThat(plan.runStatus()).isEqualTo(RunStatus.SUCCEEDED);
  }

  @Test
  void continueOnErrorLetsDependentsRunAndTheRunSucceed() throws Exception {
    Pipeline p =
        parse(
            """
        name: coe
        steps:
          a: { run: exit 1, continue_on_error: true }
          b: { needs: [a], run: echo b }
        """);
    Plan plan = plan(p, RunStatus.RUNNING, Map.of("a", state(StepStatus.FAILED)));
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("b");
    Plan end = plan(p, RunStatus.RUNNING, Map.of("a", state(StepStatus.FAILED), "b", ok(Map.of())));
    assertThat(end.runStatus()).isEqualTo(RunStatus.SUCCEEDED);
  }

  @Test
  void stepWhoseConditionReadsAStatusRunsAfterAFailure() throws Exception {
    Pipeline p =
        parse(
            """
        name: alert
        steps:
          train: { run: exit 1 }
          alert:
            needs: [train]
            if: "${{ steps.train.status == 'failed' }}"
            run: echo alert
        """);
    Plan plan = plan(p, RunStatus.RUNNING, Map.of("train", state(StepStatus.FAILED)));
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("alert");
  }

  @Test
  void unknownOutputFailsTheStepWithoutRunningIt() throws Exception {
    Plan plan = plan(parse(DIAMOND), RunStatus.RUNNING, Map.of("a", ok(Map.of())));
    assertThat(plan.finish())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.stepId()).isEqualTo("b");
              assertThat(f.status()).isEqualTo(StepStatus.FAILED);
              assertThat(f.reason()).contains("wrote no output 'x'");
            });
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("c");
  }

  @Test
  void cancelledRunSettlesUndecidedStepsAsCancelled() throws Exception {
    Plan plan = plan(parse(DIAMOND), RunStatus.CANCELLED, Map.of("a", state(StepStatus.CANCELLED)));
    assertThat(plan.start()).isEmpty();
    assertThat(plan.finish())
        .extracting(Plan.Finish::status)
        .containsOnly(StepStatus.CANCELLED)
        .hasSize(3);
    assertThat(plan.runStatus()).isNull();
  }

  @Test
  void retriesAndQueueComeFromDefaultsUnlessTheStepSetsThem() throws Exception {
    Pipeline p =
        parse(
            """
        name: retries
        defaults:
          retries: { max: 2, backoff: 5s }
          queue: cpu
        steps:
          a: { run: echo a }
          b: { run: echo b, retries: 0, queue: gpu }
        """);
    List<Plan.Start> start = plan(p, RunStatus.QUEUED, Map.of()).start();
    assertThat(start)
        .extracting(Plan.Start::stepId, Plan.Start::maxAttempts, Plan.Start::queue)
        .containsExactly(tuple("a", 3, "cpu"), tuple("b", 1, "gpu"));
    assertThat(start.get(0).backoffMs()).isEqualTo(5000);
  }

  @Test
  void secretsAreStructureTheWorkerFillsInNeverTextOrValues() throws Exception {
    Pipeline p =
        parse(
            """
        name: secret
        params: { who: { type: string } }
        steps:
          a:
            run: "curl -H 'token: ${{ secrets.API_TOKEN }}' x"
            env: { AUTH: "Bearer ${{ secrets.API_TOKEN }}", PLAIN: "${{ params.who }}" }
          b:
            uses: notify/webhook
            with: { url: "https://h/${{ secrets.HOOK }}", n: { list: ["${{ secrets.HOOK }}"] } }
        """);
    List<Plan.Start> start = plan(p, RunStatus.QUEUED, Map.of()).start();
    TaskSpec a = start.get(0).spec();
    assertThat(a.command()).isEqualTo("curl -H 'token: '\"${KILN_EXPR_1}\"'' x");
    assertThat(a.env()).containsEntry("KILN_EXPR_1", "").containsEntry("AUTH", "");
    assertThat(a.env()).containsEntry("PLAIN", "world");
    SecretRefs refs = SecretRefs.of(a.env());
    assertThat(refs.env().get("KILN_EXPR_1")).containsExactly(Map.of("secret", "API_TOKEN"));
    assertThat(refs.env().get("AUTH")).containsExactly("Bearer ", Map.of("secret", "API_TOKEN"));
    SecretRefs b = SecretRefs.of(start.get(1).spec().env());
    assertThat(b.with().keySet()).containsExactly("/url", "/n/list/0");
    assertThat(start.get(1).spec().with()).containsEntry("url", "");
  }

  @Test
  void aValueThatReadsLikeASecretIsJustText() throws Exception {
    Pipeline p =
        parse(
            """
        name: text
        params: { who: { type: string } }
        steps:
          a: { run: "echo ${{ params.who }}", env: { W: "x${{ params.who }}" } }
        """);
    TaskSpec spec =
        Planner.plan(
                p,
                Dag.of(p),
                new RunSnapshot(
                    1,
                    "manual",
                    RunStatus.QUEUED,
                    Map.of("who", "${{ secrets.KILN_DB_PASSWORD }}"),
                    Map.of(),
                    null,
                    null,
                    null))
            .start()
            .get(0)
            .spec();
    assertThat(spec.command()).isEqualTo("echo \"${KILN_EXPR_1}\"");
    assertThat(spec.env())
        .containsEntry("KILN_EXPR_1", "${{ secrets.KILN_DB_PASSWORD }}")
        .containsEntry("W", "x${{ secrets.KILN_DB_PASSWORD }}")
        .doesNotContainKey(SecretRefs.ENV_KEY);
  }

  @Test
  void secretParamValuesAreListedForMasking() throws Exception {
    Pipeline p =
        parse(
            """
        name: masked
        params: { who: { type: string, secret: true } }
        steps:
          a: { run: "echo ${{ params.who }}" }
        """);
    TaskSpec spec = plan(p, RunStatus.QUEUED, Map.of()).start().get(0).spec();
    assertThat(SecretRefs.of(spec.env()).mask()).containsExactly("world");
  }

  @Test
  void artifactResolvesByNameWithoutExtensionWhenUnambiguous() {
    assertThat(Specs.artifact(Map.of("model.pkl", "/s/1"), "model")).isEqualTo("/s/1");
    assertThat(Specs.artifact(Map.of("model.pkl", "/s/1", "model.json", "/s/2"), "model")).isNull();
    assertThat(Specs.artifact(Map.of("model.pkl", "/s/1"), "model.pkl")).isEqualTo("/s/1");
  }
}
