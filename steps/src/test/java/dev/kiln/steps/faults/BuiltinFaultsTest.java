package dev.kiln.steps.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.StepPaths;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.TaskSpec;
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
 * Built-in steps under faults: an attempt re-run after a lost one does not repeat its side effect,
 * timeout applies to built-ins, and an Error inside one fails the step, not the worker.
 */
class BuiltinFaultsTest {
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
                    "faults-worker", List.of("default"), 2, Duration.ofSeconds(30), null));
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

  long count(String sql, Object... args) {
    return engine
        .db()
        .tx()
        .inTransaction(c -> Sql.one(c, sql, rs -> rs.getLong(1), args).orElseThrow());
  }

  /** The task as a later attempt on another worker would claim it after losing the first. */
  ClaimedTask reclaimed(TaskRecord t) {
    String spec =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                            c,
                            "select spec::text from tasks where id = ?",
                            rs -> rs.getString(1),
                            t.id())
                        .orElseThrow());
    return new ClaimedTask(
        t.id(),
        t.runId(),
        t.stepId(),
        t.attempt() + 1,
        "other-worker",
        Json.read(spec, TaskSpec.class));
  }

  Completion runAgain(ClaimedTask t) throws Exception {
    BuiltinStep step = BuiltinStep.all().get(t.spec().uses());
    return step.run(
        new BuiltinStep.Context(
            t,
            t.spec().with(),
            base,
            new StepPaths(base, List.of(engine.config().artifactsDir())),
            (stream, line) -> {},
            new Cancellation(),
            engine));
  }

  @Test
  void registerPromoteAndPipelineRunReRunForTheSameTaskDoNotRepeatTheirEffect() throws Exception {
    Files.writeString(base.resolve("child.yaml"), "name: child\nsteps:\n  one: { run: 'true' }\n");
    RunRecord r =
        run(
            """
        name: once
        steps:
          train:
            run: echo "weights" > "$KILN_ARTIFACTS/model.bin"
          register:
            needs: [train]
            uses: model/register
            with: { name: m, artifact: "${{ steps.train.artifacts.model }}" }
          promote:
            needs: [register]
            uses: model/promote
            with: { name: m, version: "${{ steps.register.outputs.version }}", alias: production }
          child:
            uses: pipeline/run
            with: { pipeline: child.yaml }
        """);
    assertThat(r.status()).as("%s", engine.store().tasks(r.id())).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(count("select count(*) from model_versions where name = 'm'")).isEqualTo(1);
    long runsBefore = count("select count(*) from runs");

    // The attempts are lost after their effects and run again: the same results, nothing new.
    Completion again = runAgain(reclaimed(task(r, "register")));
    assertThat(again.outcome()).isEqualTo(Completion.Outcome.SUCCEEDED);
    assertThat(again.outputs()).containsEntry("version", "1");
    assertThat(count("select count(*) from model_versions where name = 'm'")).isEqualTo(1);

    Completion promoted = runAgain(reclaimed(task(r, "promote")));
    assertThat(promoted.outputs()).containsEntry("version", "1");
    assertThat(count("select count(*) from model_alias_events where name = 'm'")).isEqualTo(1);

    Completion child = runAgain(reclaimed(task(r, "child")));
    assertThat(child.outputs()).containsEntry("run_id", task(r, "child").outputs().get("run_id"));
    assertThat(count("select count(*) from runs")).isEqualTo(runsBefore);
  }

  @Test
  void timeoutAppliesToABuiltInStep() throws Exception {
    Files.writeString(
        base.resolve("sleeper.yaml"), "name: sleeper\nsteps:\n  nap: { run: 'sleep 30' }\n");
    RunRecord r =
        run(
            """
        name: slowchild
        steps:
          child:
            uses: pipeline/run
            timeout: 2s
            with: { pipeline: sleeper.yaml, wait: true }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "child").error()).contains("timed out after 2s");
  }

  @Test
  void anErrorInsideABuiltInFailsTheStepAndTheWorkerGoesOn() throws Exception {
    RunRecord r =
        run(
            """
        name: overflow
        steps:
          deep: { uses: test/overflow }
          heap: { uses: test/overflow, with: { kind: heap } }
        """);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(r, "deep").error()).contains("stack overflow");
    assertThat(task(r, "heap").error()).contains("out of memory");
    assertThat(count("select count(*) from task_attempts where status = 'lost'")).isZero();
    // Both slots came back: the next run is served.
    RunRecord next = run("name: after\nsteps:\n  a: { run: 'true' }\n  b: { run: 'true' }\n");
    assertThat(next.status()).isEqualTo(RunStatus.SUCCEEDED);
  }
}
