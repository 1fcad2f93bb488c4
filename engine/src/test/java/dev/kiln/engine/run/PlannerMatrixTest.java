package dev.kiln.engine.run;

import static dev.kiln.engine.run.PlannerTest.ok;
import static dev.kiln.engine.run.PlannerTest.parse;
import static dev.kiln.engine.run.PlannerTest.plan;
import static dev.kiln.engine.run.PlannerTest.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.run.RunSnapshot.StepState;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.task.TaskSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Matrix steps in the pure planner: expansion, per-task specs, aggregation, list outputs. */
class PlannerMatrixTest {

  private static final String TRAIN =
      """
      name: grid
      steps:
        prep: { run: echo prep }
        train:
          needs: [prep]
          matrix: { lr: [0.1, 0.01], seed: [1, 2] }
          retries: 2
          run: echo "lr=${{ matrix.lr }} seed=${{ matrix.seed }} from ${{ steps.prep.outputs.n }}"
          env: { LR: "${{ matrix.lr }}" }
        report:
          needs: [train]
          run: echo '${{ steps.train.outputs.acc }}'
      """;

  private static final List<String> TRAIN_TASKS =
      List.of(
          "train[lr=0.1,seed=1]",
          "train[lr=0.1,seed=2]",
          "train[lr=0.01,seed=1]",
          "train[lr=0.01,seed=2]");

  private static Map<String, StepState> prepDoneTrain(StepState... train) {
    Map<String, StepState> s = new HashMap<>();
    s.put("prep", ok(Map.of("n", "5")));
    for (int i = 0; i < train.length; i++) {
      s.put(TRAIN_TASKS.get(i), train[i]);
    }
    return s;
  }

  @Test
  void matrixStepStartsOneTaskPerCombinationFirstKeyOutermost() throws Exception {
    Plan plan = plan(parse(TRAIN), RunStatus.RUNNING, prepDoneTrain());
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactlyElementsOf(TRAIN_TASKS);
    assertThat(plan.start()).extracting(Plan.Start::maxAttempts).containsOnly(3);
    TaskSpec third = plan.start().get(2).spec();
    assertThat(PlannerTest.expanded(third)).isEqualTo("echo \"lr=0.01 seed=1 from 5\"");
    assertThat(third.env())
        .containsEntry("LR", "0.01")
        .containsEntry("KILN_MATRIX", "{\"lr\":0.01,\"seed\":1}");
    assertThat(plan.runStatus()).isNull();
  }

  @Test
  void dependentWaitsUntilEveryCombinationHasFinished() throws Exception {
    Plan plan =
        plan(
            parse(TRAIN),
            RunStatus.RUNNING,
            prepDoneTrain(ok(Map.of()), ok(Map.of()), state(StepStatus.RUNNING), ok(Map.of())));
    assertThat(plan.start()).isEmpty();
    assertThat(plan.finish()).isEmpty();
  }

  @Test
  void outputsOfAMatrixStepAreListsInCombinationOrderWithNullsForMissingValues() throws Exception {
    Plan plan =
        plan(
            parse(TRAIN),
            RunStatus.RUNNING,
            prepDoneTrain(
                ok(Map.of("acc", "0.9")),
                ok(Map.of("acc", "0.8")),
                ok(Map.of()),
                ok(Map.of("acc", "0.7"))));
    assertThat(plan.start())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.stepId()).isEqualTo("report");
              assertThat(PlannerTest.expanded(s.spec()))
                  .isEqualTo("echo ''\"[\"0.9\",\"0.8\",null,\"0.7\"]\"''");
            });
  }

  @Test
  void oneFailedCombinationFailsTheStepAndSkipsItsDependentsAfterTheOthersFinish()
      throws Exception {
    Pipeline p = parse(TRAIN);
    Plan running =
        plan(
            p,
            RunStatus.RUNNING,
            prepDoneTrain(
                state(StepStatus.FAILED), ok(Map.of()), state(StepStatus.RUNNING), ok(Map.of())));
    assertThat(running.finish()).isEmpty();
    assertThat(running.runStatus()).isNull();
    Plan done =
        plan(
            p,
            RunStatus.RUNNING,
            prepDoneTrain(state(StepStatus.FAILED), ok(Map.of()), ok(Map.of()), ok(Map.of())));
    assertThat(done.finish())
        .containsExactly(
            new Plan.Finish("report", StepStatus.SKIPPED, "needs 'train', which failed"));
    assertThat(done.runStatus()).isEqualTo(RunStatus.FAILED);
  }

  @Test
  void continueOnErrorAppliesToTheMatrixStepAsAWhole() throws Exception {
    Pipeline p = parse(TRAIN.replace("retries: 2", "continue_on_error: true"));
    Plan plan =
        plan(
            p,
            RunStatus.RUNNING,
            prepDoneTrain(
                state(StepStatus.FAILED), ok(Map.of("acc", "1")), ok(Map.of()), ok(Map.of())));
    assertThat(plan.start()).extracting(Plan.Start::stepId).containsExactly("report");
    Map<String, StepState> all =
        prepDoneTrain(state(StepStatus.FAILED), ok(Map.of("acc", "1")), ok(Map.of()), ok(Map.of()));
    all.put("report", ok(Map.of()));
    assertThat(plan(p, RunStatus.RUNNING, all).runStatus()).isEqualTo(RunStatus.SUCCEEDED);
  }

  @Test
  void blockedMatrixStepIsSkippedAsAWholeInOneTaskNamedAsTheStep() throws Exception {
    Map<String, StepState> s = Map.of("prep", state(StepStatus.FAILED));
    Plan plan = plan(parse(TRAIN), RunStatus.RUNNING, s);
    assertThat(plan.finish())
        .extracting(Plan.Finish::stepId, Plan.Finish::status)
        .containsExactly(tuple("train", StepStatus.SKIPPED), tuple("report", StepStatus.SKIPPED));
    assertThat(plan.runStatus()).isEqualTo(RunStatus.FAILED);
  }

  @Test
  void conditionOnMatrixValuesSkipsSomeCombinationsAndTheStepStillSucceeds() throws Exception {
    Pipeline p =
        parse(
            """
        name: cond
        steps:
          a:
            matrix: { size: [small, large] }
            if: ${{ matrix.size != 'large' }}
            run: echo "n=1" >> "$KILN_OUTPUTS"
          b: { needs: [a], run: "echo ${{ steps.a.outputs.n }} ${{ steps.a.status }}" }
        """);
    Plan first = plan(p, RunStatus.QUEUED, Map.of());
    assertThat(first.start()).extracting(Plan.Start::stepId).containsExactly("a[size=small]");
    assertThat(first.finish())
        .extracting(Plan.Finish::stepId, Plan.Finish::status)
        .containsExactly(tuple("a[size=large]", StepStatus.SKIPPED));
    Plan next =
        plan(
            p,
            RunStatus.RUNNING,
            Map.of(
                "a[size=small]", ok(Map.of("n", "1")), "a[size=large]", state(StepStatus.SKIPPED)));
    assertThat(next.start())
        .singleElement()
        .satisfies(
            s ->
                assertThat(PlannerTest.expanded(s.spec()))
                    .isEqualTo("echo \"[\"1\",null]\" \"succeeded\""));
  }

  @Test
  void retryThatReusedSomeCombinationsStartsOnlyTheOthers() throws Exception {
    Plan plan =
        plan(
            parse(TRAIN),
            RunStatus.QUEUED,
            prepDoneTrain(ok(Map.of("acc", "0.9")), ok(Map.of("acc", "0.8"))));
    assertThat(plan.start())
        .extracting(Plan.Start::stepId)
        .containsExactly(TRAIN_TASKS.get(2), TRAIN_TASKS.get(3));
  }

  @Test
  void cancelledRunCancelsTheCombinationsThatHaveNoTaskYet() throws Exception {
    Plan plan = plan(parse(TRAIN), RunStatus.CANCELLED, prepDoneTrain(ok(Map.of())));
    assertThat(plan.finish())
        .extracting(Plan.Finish::stepId, Plan.Finish::status)
        .containsExactly(
            tuple(TRAIN_TASKS.get(1), StepStatus.CANCELLED),
            tuple(TRAIN_TASKS.get(2), StepStatus.CANCELLED),
            tuple(TRAIN_TASKS.get(3), StepStatus.CANCELLED),
            tuple("report", StepStatus.CANCELLED));
  }

  @Test
  void artifactsOfEachCombinationAreInputsInTheirOwnFolderAndAListInExpressions() throws Exception {
    Pipeline p =
        parse(
            """
        name: arts
        steps:
          a: { matrix: { k: [x, y] }, run: echo }
          b: { needs: [a], run: "echo ${{ steps.a.artifacts.model }}" }
        """);
    Plan plan =
        plan(
            p,
            RunStatus.RUNNING,
            Map.of(
                "a[k=x]",
                    new StepState(StepStatus.SUCCEEDED, Map.of(), Map.of("model.bin", "/s/1")),
                "a[k=y]",
                    new StepState(StepStatus.SUCCEEDED, Map.of(), Map.of("model.bin", "/s/2"))));
    TaskSpec b = plan.start().get(0).spec();
    assertThat(PlannerTest.expanded(b)).isEqualTo("echo \"[\"/s/1\",\"/s/2\"]\"");
    assertThat(b.inputs())
        .containsExactly(
            Map.entry("a/a[k=x]", Map.of("model.bin", "/s/1")),
            Map.entry("a/a[k=y]", Map.of("model.bin", "/s/2")));
  }

  @Test
  void taskNamesQuoteValuesThatAreNotPlainAndNeverHoldSlashesOrColons() throws Exception {
    Pipeline p =
        parse(
            """
        name: names
        steps:
          a:
            matrix: { file: [data/x.csv, "a b"], at: ["12:00"], flag: [true] }
            run: echo
        """);
    assertThat(MatrixTasks.tasks(p.step("a")))
        .extracting(MatrixTasks.Task::name)
        .containsExactly(
            "a[file=\"data\\u002fx.csv\",at=\"12\\u003a00\",flag=true]",
            "a[file=\"a b\",at=\"12\\u003a00\",flag=true]");
  }
}
