package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step's {@code executor:} is stored with its task, and a claim that names executors takes only
 * tasks requiring none or one of them (migration V130), still through the claim indexes.
 */
class ExecutorClaimTest {
  private static final Duration LEASE = Duration.ofSeconds(30);
  private static final List<String> DEFAULT = List.of("default");
  private static final String PIPELINE =
      """
      name: kinds
      defaults: { image: kiln/busybox:1 }
      steps:
        p: { run: echo p, executor: process }
        d: { run: echo d, executor: docker }
        k: { run: echo k, executor: kubernetes }
        any: { run: echo any }
      """;

  @TempDir Path home;
  Engine engine;

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
        .createRun(PipelineParser.parse("k.yaml", PIPELINE).orThrow(), Map.of(), "manual", null);
  }

  private List<String> claim(String worker, List<String> executors) {
    return engine
        .queue()
        .claim(worker, new TaskQueue.Claimable(DEFAULT, null, executors), 10, LEASE)
        .stream()
        .map(t -> t.stepId() + ":" + t.spec().executor())
        .sorted()
        .toList();
  }

  @Test
  void eachWorkerTakesOnlyTheTasksItsExecutorsCanRun() throws Exception {
    long run = start();
    List<String> stored =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select step_id || '=' || coalesce(executor, '-') from tasks"
                            + " where run_id = ? order by step_id",
                        rs -> rs.getString(1),
                        run));
    assertThat(stored).containsExactly("any=-", "d=docker", "k=kubernetes", "p=process");

    assertThat(claim("w-kube", List.of("kubernetes"))).containsExactly("any:null", "k:kubernetes");
    assertThat(claim("w-process", List.of("process"))).containsExactly("p:process");
    assertThat(claim("w-docker", List.of("docker", "process"))).containsExactly("d:docker");
  }

  @Test
  void aClaimWithoutExecutorsTakesEveryKindAsBefore() throws Exception {
    start();
    assertThat(claim("w", null))
        .containsExactly("any:null", "d:docker", "k:kubernetes", "p:process");
  }

  /** Queues {@code count} tasks of {@code run} in {@code queue} that require {@code executor}. */
  private void backlog(long run, String prefix, String queue, String executor, int count) {
    engine
        .db()
        .tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
                    insert into tasks (run_id, step_id, status, queue, spec, max_attempts,
                                       backoff_ms, executor)
                    select ?, ? || g, 'queued', ?, '{}'::jsonb, 1, 0, ?
                      from generate_series(1, ?) g""",
                    run,
                    prefix,
                    queue,
                    executor,
                    count));
    engine.db().tx().run(c -> Sql.update(c, "analyze tasks"));
  }

  private String explain(Long onlyRun) {
    return engine
        .queue()
        .explainClaim(new TaskQueue.Claimable(DEFAULT, onlyRun, List.of("process")), 1);
  }

  @Test
  void theExecutorFilterKeepsTheClaimAnIndexScanThatStopsAfterLimit() throws Exception {
    long run = start();
    // A busy shared database: a backlog in another queue, and in this one tasks any worker may run
    // with a few that require another executor (planner statistics as after autovacuum).
    backlog(run, "other", "other", "kubernetes", 20_000);
    backlog(run, "k8s", "default", "kubernetes", 200);
    backlog(run, "any", "default", null, 2_000);

    String oneQueue = explain(null);
    assertThat(oneQueue).as(oneQueue).contains("Index Scan using tasks_claimable_in_queue");
    assertThat(oneQueue).as(oneQueue).doesNotContain("Sort Key", "Seq Scan on tasks");
    String ofRun = explain(run);
    assertThat(ofRun).as(ofRun).containsPattern("Index Scan using tasks_claimable(_in_run)? ");
    assertThat(ofRun).as(ofRun).doesNotContain("Seq Scan on tasks");
  }

  @Test
  void aQueueFullOfOtherExecutorsTasksIsStillReadThroughTheClaimIndex() throws Exception {
    long run = start();
    // The adversarial case: nearly all of the queue requires an executor this worker lacks. The
    // planner reads the queue's part of the index and sorts what passes the filter (docs).
    backlog(run, "other", "other", "kubernetes", 20_000);
    backlog(run, "k8s", "default", "kubernetes", 2_000);

    String oneQueue = explain(null);
    assertThat(oneQueue).as(oneQueue).contains("tasks_claimable_in_queue");
    assertThat(oneQueue).as(oneQueue).doesNotContain("Seq Scan on tasks");
    assertThat(claim("w-process", List.of("process"))).containsExactly("any:null", "p:process");
  }
}
