package dev.kiln.engine.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.CacheEntries;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cache lookups and cached completions against a real PostgreSQL, the test playing the worker. */
class ResultCacheTest {
  @TempDir Path home;
  Engine engine;

  private static final List<String> QUEUES = List.of("default");
  private static final String KEY = "k".repeat(64);

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
        .createRun(
            PipelineParser.parse(
                    "t.yaml",
                    """
        name: cached
        steps:
          a: { run: echo a, cache: true }
        """)
                .orThrow(),
            Map.of(),
            "manual",
            null);
  }

  private ClaimedTask claim(String worker) {
    return engine.queue().claim(worker, QUEUES, 1, Duration.ofSeconds(30)).get(0);
  }

  private TaskRecord task(long run) {
    return engine.store().tasks(run).get(0);
  }

  @Test
  void aCachedResultOfAnAttemptThatLostItsLeaseIsRefused() throws Exception {
    long first = start();
    ClaimedTask made = claim("w");
    assertThat(
            engine
                .runs()
                .complete(
                    made,
                    new Completion(
                            Completion.Outcome.SUCCEEDED,
                            0,
                            null,
                            Map.of("n", "1"),
                            List.of(new Completion.Metric("m", 2.0)),
                            List.of(),
                            null)
                        .withCacheKey(KEY)))
        .isTrue();

    long second = start();
    ClaimedTask stale = claim("dead");
    Completion hit = engine.cache().lookup(KEY).orElseThrow();
    assertThat(hit.cachedFrom().runId()).isEqualTo(first);
    assertThat(hit.metrics()).containsExactly(new Completion.Metric("m", 2.0));
    engine
        .db()
        .tx()
        .run(
            c ->
                Sql.update(
                    c,
                    "update tasks set lease_until = now() - interval '1 second' where id = ?",
                    stale.id()));
    assertThat(engine.leases().reapExpiredLeases()).isEqualTo(1);
    ClaimedTask fresh = claim("alive");

    assertThat(engine.runs().complete(stale, hit)).as("the fence refuses a hit too").isFalse();
    assertThat(task(second).reusedFrom()).isNull();
    assertThat(engine.runs().complete(fresh, hit)).isTrue();
    TaskRecord t = task(second);
    assertThat(t.cached()).isTrue();
    assertThat(t.reusedFrom()).isEqualTo(task(first).id());
    assertThat(t.outputs()).containsEntry("n", "1");
    assertThat(engine.store().metrics(second).get("a")).containsEntry("m", List.of(2.0));
    assertThat(engine.cache().list(null))
        .extracting(CacheEntries.Entry::runId)
        .as("a hit is not an entry")
        .containsExactly(first);
  }

  @Test
  void aFailureRecordsNoKey() throws Exception {
    start();
    ClaimedTask t = claim("w");
    assertThat(engine.runs().complete(t, Completion.failed("no").withCacheKey(KEY))).isTrue();
    assertThat(engine.cache().lookup(KEY)).isEmpty();
    assertThat(engine.cache().list(null)).isEmpty();
  }
}
