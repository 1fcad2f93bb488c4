package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.S3ProxyServer;
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
 * Two workers that share nothing but the database and an S3 store (their own KILN_HOME, their own
 * queue): a step on one reads what a step on the other made, through the bucket.
 */
class SharedArtifactsTest {
  @TempDir Path homeA;
  @TempDir Path homeB;
  @TempDir Path s3dir;

  S3ProxyServer s3;
  Engine a;
  Engine b;
  WorkerRuntime.Handle workerA;
  WorkerRuntime.Handle workerB;

  @BeforeEach
  void open() throws Exception {
    s3 = S3ProxyServer.start(s3dir);
    s3.createBucket("kiln");
    TestDb.Url db = TestDb.freshUrl();
    a = engine(homeA, db);
    b = engine(homeB, db);
    workerA = worker(a, "host-a", "a");
    workerB = worker(b, "host-b", "b");
  }

  private Engine engine(Path home, TestDb.Url db) {
    Map<String, String> env = s3.env("kiln", "shared");
    env.put("KILN_HOME", home.toString());
    KilnConfig config = KilnConfig.from(env);
    return new Engine(config, Database.connect(db.url(), db.user(), db.password(), 5));
  }

  private static WorkerRuntime.Handle worker(Engine e, String name, String queue) {
    return WorkerRuntime.load()
        .start(e, new WorkerRuntime.Options(name, List.of(queue), 2, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() throws Exception {
    workerA.close();
    workerB.close();
    a.close();
    b.close();
    s3.close();
  }

  @Test
  void aStepOnOneHostReadsTheArtifactsAStepOnAnotherMade() throws Exception {
    long run =
        start(
            a,
            """
        name: two-hosts
        steps:
          make:
            queue: a
            run: |
              echo "model-bytes" > "$KILN_ARTIFACTS/model.bin"
              mkdir "$KILN_ARTIFACTS/report" && echo "a" > "$KILN_ARTIFACTS/report/a.txt"
          use:
            queue: b
            needs: [make]
            run: |
              test "$(cat "$KILN_INPUTS/make/model.bin")" = model-bytes
              test "$(cat "$KILN_INPUTS/make/report/a.txt")" = a
        """,
            Map.of());
    var r = awaitEnd(a, run, Duration.ofSeconds(90));
    assertThat(r.status()).as("%s", a.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);

    List<String> shas =
        a.db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        "select sha256 from artifacts where run_id = ? order by name",
                        rs -> rs.getString(1),
                        run));
    assertThat(shas).hasSize(2);
    for (String sha : shas) {
      // Host B had them from the bucket: nothing else copies between the two homes.
      assertThat(Files.exists(b.artifacts().path(sha))).as("host B's copy of %s", sha).isTrue();
      assertThat(b.artifacts().path(sha)).startsWith(homeB);
      assertThat(b.artifacts().describe(sha)).startsWith("s3://kiln/shared/sha256/");
    }
  }
}
