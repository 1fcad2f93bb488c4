package dev.kiln.engine.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.testing.TestDb;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retention against a real PostgreSQL and a real artifact folder. */
class GarbageCollectorTest {
  @TempDir Path home;
  Engine engine;
  GarbageCollector gc;
  private final List<String> problems = new ArrayList<>();

  private static final Duration AGE = Duration.ofDays(30);

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    gc = new GarbageCollector(engine.db(), engine.artifacts());
  }

  @AfterEach
  void close() {
    engine.close();
  }

  private static Pipeline pipeline(String name, boolean fails) throws Exception {
    return PipelineParser.parse(
            name + ".yaml",
            "name: " + name + "\nsteps:\n  a: { run: " + (fails ? "exit 1" : "echo a") + " }\n")
        .orThrow();
  }

  /** A run of one step, finished with an artifact holding {@code content}, and stored content. */
  private long run(String name, String content, boolean fails) throws Exception {
    long run = engine.runs().createRun(pipeline(name, fails), Map.of(), "manual", null);
    ClaimedTask t =
        engine.queue().claim("w1", List.of("default"), 1, Duration.ofSeconds(30)).get(0);
    Path f = home.resolve(name + ".bin");
    Files.writeString(f, content);
    ArtifactStore.Stored s = engine.artifacts().put(f);
    // Stored long ago, as far as the store's clock knows: the grace period does not keep it.
    Files.setLastModifiedTime(s.path(), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
    engine
        .runs()
        .complete(
            t,
            new Completion(
                fails ? Completion.Outcome.FAILED : Completion.Outcome.SUCCEEDED,
                fails ? 1 : 0,
                fails ? "exit code 1" : null,
                Map.of(),
                List.of(new Completion.Metric("loss", 0.5)),
                List.of(new Completion.Artifact("out", s.sha256(), s.size(), "file")),
                null));
    return run;
  }

  private String sha(String content) throws IOException {
    Path f = Files.writeString(home.resolve("probe"), content);
    return ArtifactStore.sha256(f);
  }

  private void age(long... runs) {
    engine
        .db()
        .tx()
        .run(
            c -> {
              for (long r : runs) {
                Sql.update(
                    c, "update runs set finished_at = now() - interval '40 days' where id = ?", r);
              }
            });
  }

  private long count(String sql, Object... args) {
    return engine
        .db()
        .tx()
        .inTransaction(c -> Sql.one(c, sql, rs -> rs.getLong(1), args).orElseThrow());
  }

  private List<Long> runIds() {
    return engine
        .db()
        .tx()
        .inTransaction(c -> Sql.query(c, "select id from runs order by id", rs -> rs.getLong(1)));
  }

  @Test
  void oldRunsGoWithTheirRowsAndContentWhileReferencedOnesStay() throws Exception {
    long plain = run("plain", "plain bytes", false);
    long model = run("model", "model bytes", false);
    long dataset = run("dataset", "dataset bytes", false);
    long sharedOld = run("shared", "shared bytes", false);
    long sharedYoung = run("shared", "shared bytes", false);
    long failed = run("flaky", "flaky bytes", true);
    long young = run("young", "young bytes", false);
    long retry = engine.runs().retry(failed);
    age(plain, model, dataset, sharedOld, failed);
    String modelSha = sha("model bytes");
    String datasetSha = sha("dataset bytes");
    engine
        .db()
        .tx()
        .run(
            c -> {
              Sql.update(c, "insert into models (name) values ('churn')");
              Sql.update(
                  c,
                  """
                  insert into model_versions (name, version, artifact_sha256, artifact_size,
                    artifact_kind, run_id, step_id, created_by)
                  values ('churn', 1, ?, 11, 'file', ?, 'a', 'test')""",
                  modelSha,
                  model);
              Sql.update(c, "insert into datasets (name) values ('events')");
              Sql.update(
                  c,
                  """
                  insert into dataset_versions (name, version, sha256, size, kind, run_id, step_id)
                  values ('events', 1, ?, 13, 'file', ?, 'a')""",
                  datasetSha,
                  dataset);
              // More log lines than one deletion piece, so the lines go in several transactions.
              Sql.update(
                  c,
                  """
                  insert into task_logs (task_id, attempt, stream, line)
                  select t.id, 1, 'stdout', 'line ' || g from tasks t, generate_series(1, 25000) g
                   where t.run_id = ?""",
                  plain);
              Sql.update(
                  c,
                  "insert into trigger_keys (key, run_id) values ('webhook:plain:x:1', ?)",
                  plain);
            });
    long runsBefore = runIds().size();

    Map<String, Long> would = gc.dryRun(AGE);
    assertThat(would)
        .containsEntry("runs", 2L) // plain and sharedOld
        .containsEntry("tasks", 2L)
        .containsEntry("attempts", 2L)
        .containsEntry("logs", 25_000L)
        .containsEntry("metrics", 2L)
        .containsEntry("artifacts", 2L)
        .containsEntry("trigger_keys", 1L)
        .containsEntry("blobs", 1L); // plain's; shared bytes are still named by sharedYoung
    assertThat(runIds()).hasSize((int) runsBefore); // a dry run deletes nothing

    Map<String, Long> gone = gc.collect(AGE, problems::add);

    assertThat(problems).isEmpty();
    for (String kind : List.of("runs", "tasks", "attempts", "logs", "metrics", "artifacts")) {
      assertThat(gone.get(kind)).as(kind).isEqualTo(would.get(kind));
    }
    assertThat(gone).containsEntry("blobs", 1L).containsEntry("trigger_keys", 1L);
    assertThat(runIds()).containsExactly(model, dataset, sharedYoung, failed, young, retry);
    assertThat(engine.artifacts().exists(sha("plain bytes"))).isFalse();
    for (String kept : List.of("model bytes", "dataset bytes", "shared bytes", "young bytes")) {
      assertThat(engine.artifacts().exists(sha(kept))).as(kept).isTrue();
    }
    assertThat(count("select count(*) from task_logs")).isZero();
    assertThat(count("select count(*) from trigger_keys")).isZero();
    assertThat(count("select count(*) from run_events where run_id = ?", plain)).isZero();
    assertThat(count("select count(*) from metrics where run_id = ?", model)).isEqualTo(1);
    assertThat(count("select count(*) from tasks where run_id = ?", failed)).isEqualTo(1);
    // Nothing left to do: a second collection deletes nothing.
    assertThat(gc.collect(AGE, problems::add)).containsEntry("runs", 0L);
  }

  @Test
  void aChainOfOldRetriesGoesWholeAndOneAYoungRunRetriedStays() throws Exception {
    long first = run("flaky", "v1", true);
    long second = engine.runs().retry(first);
    ClaimedTask t =
        engine.queue().claim("w1", List.of("default"), 1, Duration.ofSeconds(30)).get(0);
    engine.runs().complete(t, Completion.failed("again"));
    long third = engine.runs().retry(second);
    ClaimedTask t3 =
        engine.queue().claim("w1", List.of("default"), 1, Duration.ofSeconds(30)).get(0);
    engine.runs().complete(t3, Completion.failed("and again"));
    long other = run("other", "v2", true);
    long otherRetry = engine.runs().retry(other);
    age(first, second, third, other);

    assertThat(gc.dryRun(AGE)).containsEntry("runs", 3L);
    assertThat(gc.collect(AGE, problems::add)).containsEntry("runs", 3L);

    assertThat(runIds()).containsExactly(other, otherRetry);
  }

  @Test
  void contentStoredAgainWithinTheGraceStaysWhenItsRowsGo() throws Exception {
    long old = run("plain", "again bytes", false);
    age(old);
    // A step of a live run stores the same bytes now and has not recorded its artifact yet.
    engine.artifacts().put(Files.writeString(home.resolve("again.bin"), "again bytes"));

    assertThat(gc.collect(AGE, problems::add)).containsEntry("runs", 1L).containsEntry("blobs", 0L);
    assertThat(engine.artifacts().exists(sha("again bytes"))).isTrue();
  }

  /** {@code n} rows of a deployment's logged traffic, received {@code daysAgo} days ago. */
  private void predictions(String name, int n, int daysAgo) {
    engine
        .db()
        .tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
                    insert into prediction_log (name, alias, version, request_id, row_index,
                                                rows_in_request, inputs, prediction, received_at)
                    select ?, 'production', 1, 'req-' || i, 0, 1, '{"x": 1}', '0',
                           now() - make_interval(days => ?) - make_interval(secs => i)
                      from generate_series(1, ?) i""",
                    name,
                    daysAgo,
                    n));
  }

  @Test
  void servedTrafficOlderThanTheAgeGoesInPiecesAndYoungerTrafficStays() {
    // More old rows than two pieces of the deletion, from two deployments.
    predictions("churn", 15_000, 40);
    predictions("fraud", 6_000, 31);
    predictions("churn", 700, 29);
    predictions("fraud", 300, 1);

    assertThat(gc.dryRun(AGE)).containsEntry("predictions", 21_000L).containsEntry("runs", 0L);
    assertThat(count("select count(*) from prediction_log")).isEqualTo(22_000);

    assertThat(gc.collect(AGE, problems::add)).containsEntry("predictions", 21_000L);
    assertThat(problems).isEmpty();
    assertThat(count("select count(*) from prediction_log")).isEqualTo(1_000);
    assertThat(
            count(
                "select count(*) from prediction_log where received_at < now() - interval '30"
                    + " days'"))
        .isZero();
    assertThat(gc.dryRun(AGE)).containsEntry("predictions", 0L);
  }

  @Test
  void everyForeignKeyToRunsAndTasksIsOneRetentionKnows() {
    // A new table naming runs or tasks must be handled in Retention.delete (deleted with the run,
    // or keeping it), or runs would fail to delete; this list is what it handles.
    List<String> refs =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        """
                        select c.conrelid::regclass::text || '.' || a.attname
                          from pg_constraint c
                          join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
                         where c.contype = 'f' and c.confrelid in ('runs'::regclass, 'tasks'::regclass)
                         order by 1""",
                        rs -> rs.getString(1)));
    assertThat(refs)
        .containsExactlyInAnyOrder(
            "approvals.run_id",
            "artifacts.run_id",
            "dataset_versions.run_id",
            "metrics.run_id",
            "model_versions.run_id",
            "monitor_reports.run_id",
            "run_dataset_pins.run_id",
            "run_dataset_reads.run_id",
            "run_events.run_id",
            "runs.retry_of",
            "side_effects.task_id",
            "task_attempts.task_id",
            "task_logs.task_id",
            "tasks.reused_from",
            "tasks.run_id",
            "trigger_keys.run_id");
  }
}
