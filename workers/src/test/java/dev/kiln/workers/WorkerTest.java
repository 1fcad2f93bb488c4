package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole runs through the real worker loop and process executor, on a real PostgreSQL. */
class WorkerTest {
  @TempDir Path home;
  @TempDir Path scratch;
  Engine engine;
  WorkerRuntime.Handle worker;

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    // Named for this test's home: each test has a fresh database, so task ids
                    // repeat, and a step's processes are found by KILN_TASK=id/attempt/worker: a
                    // kill left over from another test must not match this test's steps.
                    "test-worker-" + home.getFileName(),
                    List.of("default"),
                    4,
                    Duration.ofSeconds(10),
                    null));
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

  @Test
  void finishedRunsLeaveNoFolderInTheWorkFolder() throws Exception {
    // Six steps on four slots end and clean up while their siblings run: the run's folder stays
    // while any step of the run runs here (the join is claimed before the last sibling cleans
    // up) and goes with the last one.
    String yaml =
        """
        name: tidy
        steps:
          a: { run: "true" }
          b: { run: "true" }
          c: { run: "true" }
          d: { run: "true" }
          e: { run: "true" }
          f: { run: "true" }
          join: { needs: [a, b, c, d, e, f], run: "true" }
        """;
    for (int i = 0; i < 3; i++) {
      long run = start(engine, yaml, Map.of());
      var r = awaitEnd(engine, run, WITHIN);
      assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    }
    Path work = engine.config().workDir();
    await(
        () -> {
          try (var entries = Files.list(work)) {
            return entries.findAny().isEmpty();
          } catch (IOException e) {
            return false;
          }
        },
        WITHIN,
        "the work folder to be empty");
  }

  @Test
  void outputsMetricsArtifactsAndLogsFlowBetweenSteps() {
    long run =
        start(
            engine,
            """
        name: flow
        params:
          who: { type: string, default: world }
        steps:
          make:
            env: { WHO: "${{ params.who }}" }
            run: |
              echo "making for $WHO"
              echo "greeting=hello $WHO" >> "$KILN_OUTPUTS"
              echo "loss=0.5" >> "$KILN_METRICS"
              echo "loss=0.25" >> "$KILN_METRICS"
              echo "model-bytes" > "$KILN_ARTIFACTS/model.bin"
              mkdir "$KILN_ARTIFACTS/report" && echo "a" > "$KILN_ARTIFACTS/report/a.txt"
              echo "oops" >&2
          use:
            needs: [make]
            run: |
              test "$(cat "$KILN_INPUTS/make/model.bin")" = model-bytes
              test "$(cat "$KILN_INPUTS/make/report/a.txt")" = a
              test "$(cat "${{ steps.make.artifacts.model }}")" = model-bytes
              echo "got=${{ steps.make.outputs.greeting }}" >> "$KILN_OUTPUTS"
        """,
            Map.of("who", "kiln"));
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "use").outputs()).containsEntry("got", "hello kiln");
    assertThat(engine.store().metrics(run).get("make")).containsEntry("loss", List.of(0.5, 0.25));
    assertThat(engine.store().logs(run, "make"))
        .extracting(LogLine::stream, LogLine::line)
        .contains(
            org.assertj.core.groups.Tuple.tuple("stdout", "making for kiln"),
            org.assertj.core.groups.Tuple.tuple("stderr", "oops"));
    List<String> kinds =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select name || ':' || kind from artifacts where run_id = ? order by name",
                        rs -> rs.getString(1),
                        run));
    assertThat(kinds).containsExactly("model.bin:file", "report:dir");
  }

  @Test
  void failingStepIsRetriedAndCanSucceedOnALaterAttempt() throws Exception {
    Path marker = scratch.resolve("tried");
    long run =
        start(
            engine,
            """
        name: flaky
        steps:
          flaky:
            retries: { max: 2, backoff: 100ms }
            run: |
              if [ ! -f "%s" ]; then touch "%s"; echo "first try fails"; exit 7; fi
              echo "second try works"
        """
                .formatted(marker, marker),
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    TaskRecord t = task(run, "flaky");
    assertThat(t.attempt()).isEqualTo(2);
    assertThat(engine.store().events(run, 0))
        .anySatisfy(
            e -> {
              assertThat(e.status()).isEqualTo("retrying");
              assertThat(e.detail()).contains("exit code 7");
            });
  }

  @Test
  void timeoutKillsTheWholeProcessTree() throws Exception {
    Path pidFile = scratch.resolve("child.pid");
    Path escaped = scratch.resolve("escaped.pid");
    long run =
        start(
            engine,
            """
        name: slow
        steps:
          slow:
            timeout: 1s
            run: |
              sleep 300 &
              echo $! > "%s"
              setsid sh -c 'echo $$ > "%s"; exec sleep 301' > /dev/null 2>&1 &
              wait
        """
                .formatted(pidFile, escaped),
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "slow").error()).contains("timed out after 1s");
    long child = Long.parseLong(Files.readString(pidFile).trim());
    await(
        () -> ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true),
        Duration.ofSeconds(10),
        "the background child to be gone");
    // A child in a session of its own is found by the attempt's KILN_TASK tag.
    long own = Long.parseLong(Files.readString(escaped).trim());
    await(
        () -> ProcessHandle.of(own).map(h -> !h.isAlive()).orElse(true),
        Duration.ofSeconds(10),
        "the child that called setsid to be gone");
  }

  @Test
  void cancelStopsARunningStepAndSettlesTheRest() throws Exception {
    Path pidFile = scratch.resolve("cancel.pid");
    long run =
        start(
            engine,
            """
        name: cancel-me
        steps:
          long:
            run: |
              echo $$ > "%s"
              sleep 300
          after: { needs: [long], run: echo never }
        """
                .formatted(pidFile),
            Map.of());
    await(
        () -> Pipelines.pidWritten(pidFile) && task(run, "long").status() == StepStatus.RUNNING,
        WITHIN,
        "the long step to start");
    // The threads copying its output carry its name while they do (a thread dump says whose).
    assertThat(threadNames())
        .contains("kiln-step-output long stdout", "kiln-step-output long stderr");
    engine.runs().cancel(run);
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(engine.store().tasks(run))
        .extracting(TaskRecord::status)
        .containsOnly(StepStatus.CANCELLED);
    long shell = Long.parseLong(Files.readString(pidFile).trim());
    await(
        () -> ProcessHandle.of(shell).map(h -> !h.isAlive()).orElse(true),
        Duration.ofSeconds(10),
        "the step's shell to be gone");
    await(
        () -> threadNames().stream().noneMatch(n -> n.startsWith("kiln-step-output long")),
        Duration.ofSeconds(10),
        "the output threads to drop the step's name");
  }

  private static java.util.Set<String> threadNames() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .collect(java.util.stream.Collectors.toSet());
  }

  @Test
  void continueOnErrorKeepsTheRunGoing() {
    long run =
        start(
            engine,
            """
        name: coe
        steps:
          lint: { run: exit 3, continue_on_error: true }
          build: { needs: [lint], run: echo built }
        """,
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "lint").status()).isEqualTo(StepStatus.FAILED);
    assertThat(task(run, "lint").exitCode()).isEqualTo(3);
    assertThat(task(run, "build").status()).isEqualTo(StepStatus.SUCCEEDED);
  }

  @Test
  void symbolicLinkArtifactIsRefused() {
    long run =
        start(
            engine,
            """
        name: escape
        steps:
          sneaky: { run: 'ln -s /etc/passwd "$KILN_ARTIFACTS/passwd"' }
        """,
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "sneaky").error()).contains("symbolic link");
  }

  @Test
  void badOutputsLineFailsTheStepWithALineNumber() {
    long run =
        start(
            engine,
            """
        name: bad-outputs
        steps:
          a: { run: 'printf "ok=1\\nnot a pair\\n" >> "$KILN_OUTPUTS"' }
        """,
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "a").error())
        .isEqualTo("KILN_OUTPUTS line 2 is not key=value: 'not a pair'");
  }

  @Test
  void secretsComeFromKilnSecretVariablesAreMaskedAndNeverReachTheStore() {
    // The surefire configuration sets KILN_SECRET_KILN_TEST (workers/pom.xml).
    String secret = System.getenv("KILN_SECRET_KILN_TEST");
    long run =
        start(
            engine,
            """
        name: secret
        steps:
          a:
            run: 'echo "got ${{ secrets.KILN_TEST }} and $X"; echo "len=${#X}" >> "$KILN_OUTPUTS"; echo "o=$X" >> "$KILN_OUTPUTS"'
            env: { X: "v=${{ secrets.KILN_TEST }}" }
          b: { run: 'echo "${{ secrets.PATH }}"' }
        """,
            Map.of());
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "a").outputs())
        .containsEntry("len", String.valueOf(secret.length() + 2))
        .containsEntry("o", "v=***");
    assertThat(task(run, "b").error()).contains("KILN_SECRET_PATH");
    String stored =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                        c,
                        "select string_agg(t.spec::text || coalesce(t.outputs::text, ''), ' ')"
                            + " || (select string_agg(line, ' ') from task_logs l"
                            + " join tasks t2 on t2.id = l.task_id where t2.run_id = ?)"
                            + " from tasks t where t.run_id = ?",
                        rs -> rs.getString(1),
                        run,
                        run))
            .orElseThrow();
    assertThat(stored).contains("got *** and v=***").doesNotContain(secret);
  }

  /** Matrix steps: one task per combination, each run by the worker loop like a step. */
  @Nested
  class MatrixSteps {
    @Test
    void eachCombinationRunsWithItsOwnValuesAndTheDependentGetsListsAndInputs() {
      long run =
          start(
              engine,
              """
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
          """
                  .formatted(scratch),
              Map.of());
      var r = awaitEnd(engine, run, WITHIN);
      assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
      assertThat(engine.store().tasks(run))
          .extracting(TaskRecord::stepId)
          .containsExactlyInAnyOrder(
              "train[lr=0.1,seed=1]",
              "train[lr=0.1,seed=2]",
              "train[lr=0.01,seed=1]",
              "train[lr=0.01,seed=2]",
              "pick");
      assertThat(task(run, "train[lr=0.01,seed=1]").attempt()).isEqualTo(2);
      assertThat(task(run, "train[lr=0.1,seed=1]").attempt()).isEqualTo(1);
      assertThat(task(run, "pick").outputs())
          .containsEntry("scores", "[\"0.1/1\",\"0.1/2\",\"0.01/1\",\"0.01/2\"]")
          .containsEntry("status", "succeeded")
          .containsEntry("inputs", "{\"lr\":0.01,\"seed\":2}");
      assertThat(engine.store().metrics(run))
          .containsEntry("train[lr=0.1,seed=2]", Map.of("loss", List.of(2.0)));
      List<LogLine> logs = engine.store().logs(run, "train");
      assertThat(logs)
          .extracting(LogLine::line)
          .contains("training train[lr=0.1,seed=2] with {\"lr\":0.1,\"seed\":2}");
      assertThat(engine.store().logs(run, "train[lr=0.1,seed=2]"))
          .extracting(LogLine::line)
          .containsExactly("training train[lr=0.1,seed=2] with {\"lr\":0.1,\"seed\":2}");
    }

    @Test
    void cancelStopsEveryRunningCombination() throws Exception {
      long run =
          start(
              engine,
              """
          name: cancel-grid
          steps:
            long:
              matrix: { n: [1, 2, 3] }
              run: |
                echo $$ > "%s/${{ matrix.n }}.pid"
                sleep 300
            after: { needs: [long], run: echo never }
          """
                  .formatted(scratch),
              Map.of());
      List<Path> pids =
          List.of(scratch.resolve("1.pid"), scratch.resolve("2.pid"), scratch.resolve("3.pid"));
      await(() -> pids.stream().allMatch(Pipelines::pidWritten), WITHIN, "all three to start");
      engine.runs().cancel(run);
      var r = awaitEnd(engine, run, WITHIN);
      assertThat(r.status()).isEqualTo(RunStatus.CANCELLED);
      assertThat(engine.store().tasks(run))
          .hasSize(4)
          .extracting(TaskRecord::status)
          .containsOnly(StepStatus.CANCELLED);
      for (Path pid : pids) {
        long shell = Long.parseLong(Files.readString(pid).trim());
        await(
            () -> ProcessHandle.of(shell).map(h -> !h.isAlive()).orElse(true),
            Duration.ofSeconds(10),
            "the shell of " + pid.getFileName() + " to be gone");
      }
    }
  }
}
