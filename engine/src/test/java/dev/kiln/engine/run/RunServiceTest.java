package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Listener;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskQueue;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.store.Wakeups;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGNotification;

/** The run life cycle against a real PostgreSQL, with the test playing the worker. */
class RunServiceTest {
  @TempDir Path home;
  Engine engine;

  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final List<String> QUEUES = List.of("default");

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

  private static final String CHAIN =
      """
      name: chain
      steps:
        a: { run: echo a, retries: { max: 1, backoff: 1s } }
        b: { needs: [a], run: "echo ${{ steps.a.outputs.n }}" }
      """;

  private ClaimedTask claimOne(String worker) {
    List<ClaimedTask> c = engine.queue().claim(worker, QUEUES, 1, LEASE);
    assertThat(c).hasSize(1);
    return c.get(0);
  }

  private TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private static Completion ok(Map<String, String> outputs) {
    return new Completion(Completion.Outcome.SUCCEEDED, 0, null, outputs, List.of(), List.of());
  }

  @Test
  void chainRunsStepByStepAndPassesOutputs() throws Exception {
    long run = engine.runs().createRun(parse(CHAIN), Map.of(), "manual", null);
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.RUNNING);
    ClaimedTask a = claimOne("w1");
    assertThat(a.stepId()).isEqualTo("a");
    assertThat(a.attempt()).isEqualTo(1);
    assertThat(engine.queue().claim("w1", QUEUES, 5, LEASE)).isEmpty();

    assertThat(
            engine
                .runs()
                .complete(
                    a,
                    new Completion(
                        Completion.Outcome.SUCCEEDED,
                        0,
                        null,
                        Map.of("n", "7"),
                        List.of(
                            new Completion.Metric("loss", 0.5),
                            new Completion.Metric("loss", 0.25)),
                        List.of())))
        .isTrue();
    ClaimedTask b = claimOne("w1");
    assertThat(b.stepId()).isEqualTo("b");
    assertThat(PlannerTest.expanded(b.spec())).isEqualTo("echo \"7\"");
    assertThat(engine.runs().complete(b, ok(Map.of()))).isTrue();

    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(engine.store().metrics(run)).containsEntry("a", Map.of("loss", List.of(0.5, 0.25)));
    assertThat(engine.store().events(run, 0))
        .extracting(e -> e.stepId() + ":" + e.status())
        .containsSubsequence(
            "null:queued",
            "a:queued",
            "a:running",
            "a:succeeded",
            "b:queued",
            "b:running",
            "b:succeeded",
            "null:succeeded");
  }

  private static final String FORK =
      """
      name: fork
      steps:
        a: { run: echo a }
        b: { needs: [a], run: echo b }
        c: { needs: [a], run: echo c }
      """;

  /**
   * The kiln_tasks wake-ups that arrive before a marker sent after {@code action}: wake-ups are
   * sent in the order their transactions committed, so one the action's sent arrives first.
   */
  private List<String> wakeUps(Runnable action) throws Exception {
    try (Listener tasks = Listener.open(engine.db(), TaskQueue.CHANNEL)) {
      action.run();
      engine.db().tx().run(c -> Wakeups.send(c, TaskQueue.CHANNEL, "marker"));
      List<String> seen = new ArrayList<>();
      Await.until(
          "the marker notification",
          Duration.ofSeconds(10),
          () -> {
            for (PGNotification n : tasks.await(100)) {
              seen.add(n.getParameter());
            }
            return seen.contains("marker");
          });
      return seen.subList(0, seen.indexOf("marker"));
    }
  }

  @Test
  void stepsTheCompletionClaimsItselfWakeNoWorkerAndThoseLeftDo() throws Exception {
    long run = engine.runs().createRun(parse(FORK), Map.of(), "manual", null);
    ClaimedTask a = claimOne("w1");
    // Room for one of b and c: the completion claims one and wakes the workers for the other.
    List<ClaimedTask> first = new ArrayList<>();
    assertThat(
            wakeUps(
                () ->
                    first.addAll(
                        engine
                            .runs()
                            .complete(
                                a,
                                ok(Map.of()),
                                null,
                                new RunService.NextClaim(
                                    "w1", new TaskQueue.Claimable(QUEUES, null, null), 1, LEASE))
                            .claimed())))
        .isNotEmpty();
    assertThat(first).hasSize(1);
    ClaimedTask other = claimOne("w2");
    assertThat(List.of(first.get(0).stepId(), other.stepId())).containsExactlyInAnyOrder("b", "c");

    long chain = engine.runs().createRun(parse(CHAIN), Map.of(), "manual", null);
    ClaimedTask ca = engine.queue().claim("w3", QUEUES, chain, 1, LEASE).get(0);
    // Room for b, the only step a made ready: claimed in the same transaction, nobody woken.
    List<ClaimedTask> next = new ArrayList<>();
    assertThat(
            wakeUps(
                () ->
                    next.addAll(
                        engine
                            .runs()
                            .complete(
                                ca,
                                ok(Map.of("n", "1")),
                                null,
                                new RunService.NextClaim(
                                    "w3", new TaskQueue.Claimable(QUEUES, chain, null), 2, LEASE))
                            .claimed())))
        .isEmpty();
    assertThat(next).extracting(ClaimedTask::stepId).containsExactly("b");
    assertThat(task(chain, "b").status()).isEqualTo(StepStatus.RUNNING);
    assertThat(engine.runs().complete(next.get(0), ok(Map.of()))).isTrue();
    assertThat(engine.store().run(chain).orElseThrow().status()).isEqualTo(RunStatus.SUCCEEDED);
  }

  @Test
  void failedAttemptIsRequeuedWithBackoffThenFailsTheRunWhenRetriesAreSpent() throws Exception {
    long run = engine.runs().createRun(parse(CHAIN), Map.of(), "manual", null);
    ClaimedTask a1 = claimOne("w1");
    engine
        .runs()
        .complete(
            a1,
            new Completion(
                Completion.Outcome.FAILED, 3, "exit code 3", Map.of(), List.of(), List.of()));
    TaskRecord t = task(run, "a");
    assertThat(t.status()).isEqualTo(StepStatus.QUEUED);
    // The backoff (1s) has not passed: nothing is claimable yet.
    assertThat(engine.queue().claim("w1", QUEUES, 1, LEASE)).isEmpty();
    assertThat(engine.queue().millisUntilNextReady(QUEUES))
        .hasValueSatisfying(ms -> assertThat(ms).isBetween(1L, 1000L));
    ClaimedTask a2 = pollClaim("w1", Duration.ofSeconds(5));
    assertThat(a2.attempt()).isEqualTo(2);
    engine.runs().complete(a2, Completion.failed("again"));
    assertThat(task(run, "a").status()).isEqualTo(StepStatus.FAILED);
    assertThat(task(run, "b").status()).isEqualTo(StepStatus.SKIPPED);
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.FAILED);
  }

  private ClaimedTask pollClaim(String worker, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      List<ClaimedTask> c = engine.queue().claim(worker, QUEUES, 1, LEASE);
      if (!c.isEmpty()) {
        return c.get(0);
      }
      long wait = engine.queue().millisUntilNextReady(QUEUES).orElse(50L);
      Thread.sleep(Math.max(1, Math.min(wait, 50)));
    }
    throw new AssertionError("nothing became claimable within " + within);
  }

  @Test
  void expiredLeaseIsReapedRetriedAndTheLateResultRefused() throws Exception {
    long run = engine.runs().createRun(parse(CHAIN), Map.of(), "manual", null);
    ClaimedTask stale = engine.queue().claim("dead", QUEUES, 1, Duration.ofMillis(1)).get(0);
    waitUntilLeaseExpired(stale.id());
    assertThat(engine.leases().reapExpiredLeases()).isEqualTo(1);
    ClaimedTask fresh = pollClaim("alive", Duration.ofSeconds(5));
    assertThat(fresh.attempt()).isEqualTo(2);

    assertThat(engine.queue().heartbeat(stale, LEASE)).isEmpty();
    assertThat(engine.runs().complete(stale, ok(Map.of("n", "stale")))).isFalse();
    assertThat(engine.runs().complete(fresh, ok(Map.of("n", "fresh")))).isTrue();
    assertThat(task(run, "a").outputs()).containsEntry("n", "fresh");
    assertThat(Collections.frequency(attemptStatuses(stale.id()), "lost")).isEqualTo(1);
  }

  private void waitUntilLeaseExpired(long taskId) throws Exception {
    Await.until(
        "the lease to expire",
        Duration.ofSeconds(5),
        () ->
            engine
                .db()
                .tx()
                .inTransaction(
                    c ->
                        Sql.one(
                            c,
                            "select lease_until < now() from tasks where id = ?",
                            rs -> rs.getBoolean(1),
                            taskId))
                .orElseThrow());
  }

  private List<String> attemptStatuses(long taskId) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select status from task_attempts where task_id = ? order by attempt",
                    rs -> rs.getString(1),
                    taskId));
  }

  @Test
  void cancelSettlesQueuedStepsAndAsksRunningOnesToStop() throws Exception {
    Pipeline p =
        parse(
            """
        name: par
        steps:
          a: { run: sleep 10 }
          b: { run: sleep 10 }
          c: { needs: [a], run: echo c }
        """);
    long run = engine.runs().createRun(p, Map.of(), "manual", null);
    ClaimedTask a = claimOne("w1");
    assertThat(engine.runs().cancel(run)).isEqualTo(RunService.CancelResult.CANCELLED);
    assertThat(engine.queue().heartbeat(a, LEASE)).contains(true);
    assertThat(engine.queue().claim("w1", QUEUES, 5, LEASE)).isEmpty();
    engine.runs().complete(a, Completion.cancelled("run cancelled"));
    assertThat(engine.store().tasks(run))
        .extracting(TaskRecord::status)
        .containsOnly(StepStatus.CANCELLED)
        .hasSize(3);
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(engine.runs().cancel(run)).isEqualTo(RunService.CancelResult.ALREADY_FINISHED);
  }

  @Test
  void retryReusesSucceededStepsAndRunsTheRest() throws Exception {
    long run =
        engine
            .runs()
            .createRun(
                parse(CHAIN), Map.of(), "manual", null, "run-1@test", Map.of("team", "ml"), true);
    engine.runs().complete(claimOne("w1"), ok(Map.of("n", "5")));
    engine.runs().complete(claimOne("w1"), Completion.failed("boom"));
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.FAILED);

    long again = engine.runs().retry(run);
    assertThat(engine.store().run(again).orElseThrow().retryOf()).isEqualTo(run);
    // The retry keeps the run's tags and its --no-cache.
    assertThat(engine.store().run(again).orElseThrow().tags()).containsEntry("team", "ml");
    Optional<Boolean> noCache =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                        c,
                        "select no_cache from runs where id = ?",
                        rs -> rs.getBoolean(1),
                        again));
    assertThat(noCache).contains(true);
    TaskRecord a = task(again, "a");
    assertThat(a.status()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(a.reusedFrom()).isNotNull();
    ClaimedTask b = claimOne("w1");
    assertThat(b.runId()).isEqualTo(again);
    assertThat(PlannerTest.expanded(b.spec())).isEqualTo("echo \"5\"");
    engine.runs().complete(b, ok(Map.of()));
    assertThat(engine.store().run(again).orElseThrow().status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThatThrownBy(() -> engine.runs().retry(again))
        .hasMessageContaining("only a failed or cancelled run can be retried");
  }

  @Test
  void releasedTaskIsRequeuedWithoutSpendingARetry() throws Exception {
    long run =
        engine
            .runs()
            .createRun(
                parse(
                    """
        name: one
        steps:
          a: { run: echo a }
        """),
                Map.of(),
                "manual",
                null);
    ClaimedTask a = claimOne("w1");
    assertThat(engine.leases().release(a, "worker stopped")).isTrue();
    ClaimedTask again = claimOne("w2");
    assertThat(again.attempt()).isEqualTo(2);
    engine.runs().complete(again, Completion.failed("fails for real"));
    assertThat(engine.store().run(run).orElseThrow().status()).isEqualTo(RunStatus.FAILED);
  }

  @Test
  void concurrentClaimersNeverTakeTheSameTask() throws Exception {
    StringBuilder yaml = new StringBuilder("name: wide\nsteps:\n");
    for (int i = 0; i < 200; i++) {
      yaml.append("  s").append(i).append(": { run: echo }\n");
    }
    engine.runs().createRun(parse(yaml.toString()), Map.of(), "manual", null);
    int threads = 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    List<List<ClaimedTask>> got = Collections.synchronizedList(new ArrayList<>());
    for (int w = 0; w < threads; w++) {
      String name = "w" + w;
      pool.execute(
          () -> {
            List<ClaimedTask> mine = new ArrayList<>();
            try {
              go.await();
              List<ClaimedTask> c;
              while (!(c = engine.queue().claim(name, QUEUES, 3, LEASE)).isEmpty()) {
                mine.addAll(c);
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            got.add(mine);
          });
    }
    go.countDown();
    pool.shutdown();
    assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    List<Long> ids = got.stream().flatMap(List::stream).map(ClaimedTask::id).toList();
    assertThat(ids).hasSize(200).doesNotHaveDuplicates();
  }

  /** Matrix steps through the life cycle, the test as the worker. */
  @Nested
  class MatrixSteps {
    private static final String GRID =
        """
        name: grid
        steps:
          train:
            matrix: { lr: [0.1, 0.01], seed: [1, 2] }
            run: echo "${{ matrix.lr }} ${{ matrix.seed }}"
          best:
            needs: [train]
            run: echo '${{ steps.train.outputs.acc }}'
        """;

    private List<ClaimedTask> claim(int n) {
      return engine.queue().claim("w1", QUEUES, n, LEASE);
    }

    private ClaimedTask claimed(List<ClaimedTask> tasks, String name) {
      return tasks.stream().filter(t -> t.stepId().equals(name)).findFirst().orElseThrow();
    }

    private static Completion acc(String acc) {
      return new Completion(
          Completion.Outcome.SUCCEEDED, 0, null, Map.of("acc", acc), List.of(), List.of());
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
      assertThat(tasks)
          .extracting(ClaimedTask::stepId)
          .containsExactly(
              "train[lr=0.1,seed=1]",
              "train[lr=0.1,seed=2]",
              "train[lr=0.01,seed=1]",
              "train[lr=0.01,seed=2]");
      assertThat(PlannerTest.expanded(claimed(tasks, "train[lr=0.01,seed=2]").spec()))
          .isEqualTo("echo \"0.01 2\"");
      // Finish in reverse: the list follows the combinations, not the order they finished in.
      List<ClaimedTask> reversed = new ArrayList<>(tasks);
      Collections.reverse(reversed);
      int acc = 4;
      for (ClaimedTask t : reversed) {
        assertThat(claim(10)).isEmpty();
        assertThat(engine.runs().complete(t, acc("0." + acc--))).isTrue();
      }
      ClaimedTask best = claim(10).get(0);
      assertThat(best.stepId()).isEqualTo("best");
      assertThat(PlannerTest.expanded(best.spec()))
          .isEqualTo("echo ''\"[\"0.1\",\"0.2\",\"0.3\",\"0.4\"]\"''");
      engine.runs().complete(best, acc("0.4"));
      assertThat(status(run)).isEqualTo(RunStatus.SUCCEEDED);

      Map<String, Object> summary =
          Summary.map(engine.store().run(run).orElseThrow(), engine.store().tasks(run), p);
      @SuppressWarnings("unchecked")
      Map<String, Object> train = ((List<Map<String, Object>>) summary.get("steps")).get(0);
      assertThat(train)
          .containsEntry("id", "train")
          .containsEntry("status", "succeeded")
          .containsEntry("attempts", 4)
          .containsEntry("outputs", Map.of("acc", List.of("0.1", "0.2", "0.3", "0.4")));
      assertThat((List<?>) train.get("tasks"))
          .hasSize(4)
          .first()
          .isEqualTo(
              Map.of(
                  "name",
                  "train[lr=0.1,seed=1]",
                  "matrix",
                  Map.of("lr", 0.1, "seed", 1L),
                  "status",
                  "succeeded",
                  "attempts",
                  1,
                  "started_at",
                  ((Map<?, ?>) ((List<?>) train.get("tasks")).get(0)).get("started_at"),
                  "finished_at",
                  ((Map<?, ?>) ((List<?>) train.get("tasks")).get(0)).get("finished_at"),
                  "outputs",
                  Map.of("acc", "0.1")));
    }

    @Test
    void failedCombinationFailsTheRunOnlyAfterTheOthersAndRetryRerunsOnlyIt() throws Exception {
      long run = engine.runs().createRun(parse(GRID), Map.of(), "manual", null);
      List<ClaimedTask> tasks = claim(10);
      engine.runs().complete(claimed(tasks, "train[lr=0.1,seed=2]"), Completion.failed("diverged"));
      assertThat(status(run)).isEqualTo(RunStatus.RUNNING);
      for (ClaimedTask t : tasks) {
        if (!t.stepId().equals("train[lr=0.1,seed=2]")) {
          assertThat(engine.runs().complete(t, acc(t.stepId().contains("0.01") ? "0.9" : "0.8")))
              .isTrue();
        }
      }
      assertThat(status(run)).isEqualTo(RunStatus.FAILED);
      assertThat(engine.store().tasks(run))
          .filteredOn(t -> t.stepId().equals("best"))
          .singleElement()
          .extracting(TaskRecord::status)
          .isEqualTo(StepStatus.SKIPPED);

      long again = engine.runs().retry(run);
      assertThat(engine.store().tasks(again))
          .filteredOn(t -> t.reusedFrom() != null)
          .extracting(TaskRecord::stepId)
          .containsExactlyInAnyOrder(
              "train[lr=0.1,seed=1]", "train[lr=0.01,seed=1]", "train[lr=0.01,seed=2]");
      List<ClaimedTask> rerun = claim(10);
      assertThat(rerun).extracting(ClaimedTask::stepId).containsExactly("train[lr=0.1,seed=2]");
      engine.runs().complete(rerun.get(0), acc("0.7"));
      ClaimedTask best = claim(10).get(0);
      assertThat(PlannerTest.expanded(best.spec()))
          .isEqualTo("echo ''\"[\"0.8\",\"0.7\",\"0.9\",\"0.9\"]\"''");
      engine.runs().complete(best, acc("0.9"));
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
      assertThat(engine.store().tasks(run))
          .extracting(TaskRecord::stepId, TaskRecord::status)
          .containsExactlyInAnyOrder(
              tuple("train[lr=0.1,seed=1]", StepStatus.CANCELLED),
              tuple("train[lr=0.1,seed=2]", StepStatus.CANCELLED),
              tuple("train[lr=0.01,seed=1]", StepStatus.CANCELLED),
              tuple("train[lr=0.01,seed=2]", StepStatus.CANCELLED),
              tuple("best", StepStatus.CANCELLED));
      assertThat(status(run)).isEqualTo(RunStatus.CANCELLED);
    }
  }
}
