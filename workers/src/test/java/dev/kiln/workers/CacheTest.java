package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.parse;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.Params;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
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

/**
 * cache: true through the real worker loop and process executor on a real PostgreSQL. Every cached
 * command appends a line to a counter file, so the file says how often it really ran.
 */
class CacheTest {
  @TempDir Path home;
  @TempDir Path scratch;
  Engine engine;
  WorkerRuntime.Handle worker;
  Path counter;

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
    counter = scratch.resolve("ran");
  }

  @AfterEach
  void close() {
    worker.close();
    engine.close();
  }

  private long ran() throws Exception {
    return Files.exists(counter) ? Files.readAllLines(counter).size() : 0;
  }

  private long run(String yaml, Map<String, String> params) throws Exception {
    long id = start(yaml, params, (c, runId) -> {});
    assertThat(awaitEnd(engine, id, WITHIN).status())
        .as("%s", engine.store().tasks(id))
        .isEqualTo(RunStatus.SUCCEEDED);
    return id;
  }

  private long start(String yaml, Map<String, String> params, RunService.RunSetup setup)
      throws Exception {
    var p = parse(yaml);
    return engine.runs().createRun(p, Params.bind(p, params), "manual", null, setup);
  }

  private TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private String cacheKey(long taskId) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c, "select cache_key from tasks where id = ?", rs -> rs.getString(1), taskId))
        .get(0);
  }

  private String flow() {
    return """
        name: cached-flow
        params:
          who: { type: string, default: world }
        steps:
          make:
            cache: true
            env: { WHO: "${{ params.who }}" }
            run: |
              echo x >> "%s"
              echo "greeting=hello $WHO" >> "$KILN_OUTPUTS"
              echo "loss=0.5" >> "$KILN_METRICS"
              echo "loss=0.25" >> "$KILN_METRICS"
              echo "model-bytes" > "$KILN_ARTIFACTS/model.bin"
          use:
            needs: [make]
            run: |
              test "$(cat "$KILN_INPUTS/make/model.bin")" = model-bytes
              echo "got=${{ steps.make.outputs.greeting }}" >> "$KILN_OUTPUTS"
        """
        .formatted(counter);
  }

  @Test
  void aCachedStepDoesNotRunAgainAndItsResultsReachItsDependents() throws Exception {
    long first = run(flow(), Map.of());
    long second = run(flow(), Map.of());
    assertThat(ran()).as("the cached command ran once").isEqualTo(1);

    TaskRecord made = task(first, "make");
    TaskRecord hit = task(second, "make");
    assertThat(made.cached()).isFalse();
    assertThat(hit.cached()).isTrue();
    assertThat(hit.reusedFrom()).isEqualTo(made.id());
    assertThat(hit.outputs()).containsEntry("greeting", "hello world");
    assertThat(task(second, "use").outputs()).containsEntry("got", "hello world");
    assertThat(engine.store().metrics(second).get("make"))
        .containsEntry("loss", List.of(0.5, 0.25));
    List<String> arts =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select run_id || ':' || name || ':' || sha256 from artifacts where step_id = 'make'"
                            + " order by run_id",
                        rs -> rs.getString(1)));
    assertThat(arts).hasSize(2);
    assertThat(arts.get(1).substring(arts.get(1).indexOf(':')))
        .isEqualTo(arts.get(0).substring(arts.get(0).indexOf(':')));
    assertThat(engine.store().events(second, 0))
        .anySatisfy(
            e -> {
              assertThat(e.stepId()).isEqualTo("make");
              assertThat(e.status()).isEqualTo("succeeded");
              assertThat(e.detail()).isEqualTo("cached: result of run " + first + " step make");
            });
    assertThat(engine.store().logs(second, "make"))
        .extracting(LogLine::line)
        .anySatisfy(l -> assertThat(l).startsWith("cached: result of run " + first + " step make"));
    // The uncached dependent ran both times.
    assertThat(task(second, "use").reusedFrom()).isNull();
  }

  @Test
  void aChangeOfParamCommandEnvOrInputArtifactIsAMiss() throws Exception {
    String yaml =
        """
        name: cached-inputs
        params:
          p: { type: string, default: a }
          data: { type: string, default: x }
        steps:
          src:
            run: echo "${{ params.data }}" > "$KILN_ARTIFACTS/in.txt"
          work:
            needs: [src]
            cache: true
            env: { E: "1" }
            run: echo "${{ params.p }} $E $(cat "$KILN_INPUTS/src/in.txt")" >> "%s"
        """
            .formatted(counter);
    run(yaml, Map.of());
    run(yaml, Map.of());
    assertThat(ran()).as("same inputs: a hit").isEqualTo(1);
    run(yaml, Map.of("p", "b"));
    assertThat(ran()).as("a param the command uses changed").isEqualTo(2);
    run(yaml, Map.of("data", "y"));
    assertThat(ran()).as("an input artifact's content changed").isEqualTo(3);
    run(yaml.replace("E: \"1\"", "E: \"2\""), Map.of());
    assertThat(ran()).as("the env changed").isEqualTo(4);
    run(
        yaml.replace("run: echo \"${{ params.p }}", "run: echo \"${{ params.p }} changed"),
        Map.of());
    assertThat(ran()).as("the command changed").isEqualTo(5);
    long back = run(yaml, Map.of());
    assertThat(ran()).as("the first inputs again: still a hit").isEqualTo(5);
    assertThat(task(back, "work").cached()).isTrue();
    assertThat(Files.readAllLines(counter))
        .containsExactly("a 1 x", "b 1 x", "a 1 y", "a 2 x", "a changed 1 x");
  }

  @Test
  void aFailedStepIsNotCached() throws Exception {
    String yaml =
        """
        name: cached-failure
        steps:
          fails:
            cache: true
            run: |
              echo x >> "%s"
              exit 3
        """
            .formatted(counter);
    for (int i = 1; i <= 2; i++) {
      long id = start(yaml, Map.of(), (c, runId) -> {});
      assertThat(awaitEnd(engine, id, WITHIN).status()).isEqualTo(RunStatus.FAILED);
      assertThat(cacheKey(task(id, "fails").id())).isNull();
      assertThat(ran()).isEqualTo(i);
    }
  }

  @Test
  void noCacheRunsTheStepAndItsSuccessBecomesTheNewestEntry() throws Exception {
    long first = run(flow(), Map.of());
    long bypass = start(flow(), Map.of(), RunService::bypassCache);
    assertThat(awaitEnd(engine, bypass, WITHIN).status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(ran()).as("--no-cache ran the step").isEqualTo(2);
    assertThat(task(bypass, "make").cached()).isFalse();
    assertThat(cacheKey(task(bypass, "make").id())).isEqualTo(cacheKey(task(first, "make").id()));

    long third = run(flow(), Map.of());
    assertThat(ran()).isEqualTo(2);
    assertThat(task(third, "make").reusedFrom()).isEqualTo(task(bypass, "make").id());
  }

  @Test
  void anEntryWhoseArtifactIsGoneIsDroppedAndTheStepRuns() throws Exception {
    long first = run(flow(), Map.of());
    String sha =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                        c,
                        "select sha256 from artifacts where run_id = ? and step_id = 'make'",
                        rs -> rs.getString(1),
                        first))
            .orElseThrow();
    Files.delete(engine.artifacts().path(sha));

    long second = run(flow(), Map.of());
    assertThat(ran()).isEqualTo(2);
    assertThat(task(second, "make").cached()).isFalse();
    assertThat(cacheKey(task(first, "make").id())).as("the broken entry is dropped").isNull();
    assertThat(Files.exists(engine.artifacts().path(sha)))
        .as("the new run stored it again")
        .isTrue();
  }

  @Test
  void twoRunsMissingOnTheSameKeyAtOnceBothRunAndBothBecomeEntries() throws Exception {
    // Each attempt waits until both have started, so neither can find the other's result.
    String yaml =
        """
        name: cached-race
        steps:
          both:
            cache: true
            run: |
              echo x >> "%s"
              for i in $(seq 1 600); do [ "$(wc -l < "%s")" -ge 2 ] && break; sleep 0.05; done
              echo "n=$(wc -l < "%s")" >> "$KILN_OUTPUTS"
        """
            .formatted(counter, counter, counter);
    long a = start(yaml, Map.of(), (c, runId) -> {});
    long b = start(yaml, Map.of(), (c, runId) -> {});
    assertThat(awaitEnd(engine, a, WITHIN).status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(awaitEnd(engine, b, WITHIN).status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(ran()).isEqualTo(2);
    TaskRecord ta = task(a, "both");
    TaskRecord tb = task(b, "both");
    assertThat(ta.cached() || tb.cached()).isFalse();
    assertThat(cacheKey(ta.id())).isNotNull().isEqualTo(cacheKey(tb.id()));
    long third = run(yaml, Map.of());
    assertThat(task(third, "both").reusedFrom())
        .as("the newest entry")
        .isEqualTo(Math.max(ta.id(), tb.id()));
  }
}
