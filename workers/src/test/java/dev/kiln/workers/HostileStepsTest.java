package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Steps that misbehave on purpose, run by a real worker process with small limits. */
class HostileStepsTest {
  @TempDir Path home;
  @TempDir Path dir;
  Engine engine;
  Process worker;

  @BeforeEach
  void setUp() throws Exception {
    TestDb.Url url = TestDb.freshUrl();
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(url.url(), url.user(), url.password(), 4));
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(),
                "KILN_DB_URL", url.url(),
                "KILN_DB_USER", url.user(),
                "KILN_MAX_LOG_LINES", "1000",
                "KILN_MAX_METRICS_BYTES", "1m"),
            dir);
    worker = kiln.start("worker", "--slots", "4");
  }

  @AfterEach
  void tearDown() {
    worker.destroyForcibly();
    engine.close();
  }

  private TaskRecord task(RunRecord r, String step) {
    return engine.store().tasks(r.id()).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private List<String> logs(TaskRecord t) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select line from task_logs where task_id = ? order by id",
                    rs -> rs.getString(1),
                    t.id()));
  }

  @Test
  void hostileStepsFailOrAreCutWithAClearMessageAndTheWorkerStaysHealthy() throws Exception {
    String yaml =
        """
        name: hostile
        steps:
          longline:
            run: head -c 200000000 /dev/zero | tr '\\\\0' a; echo; echo after
          chatty:
            run: seq 1 200000
          bigmetrics:
            run: yes "loss=0.5" | head -c 5000000 > "$KILN_METRICS"
          nul:
            run: printf 'a=x\\000y\\n' > "$KILN_OUTPUTS"
          latin1:
            run: printf 'a=\\377\\376\\n' > "$KILN_OUTPUTS"
          forks:
            run: for i in $(seq 1 200); do sleep 300 & done; echo "$KILN_TASK" > tag; exit 0
        """;
    long id = engine.runs().createRun(Pipelines.parse(yaml), Map.of(), "manual", dir.toString());
    RunRecord r = Pipelines.awaitEnd(engine, id, Duration.ofSeconds(180));
    assertThat(r.status()).isEqualTo(RunStatus.FAILED);

    assertThat(task(r, "longline").status().db()).isEqualTo("succeeded");
    List<String> longLog = logs(task(r, "longline"));
    assertThat(longLog.get(0)).hasSizeLessThan(17_000).endsWith("[cut: 199983616 more characters]");
    assertThat(longLog).contains("after");

    assertThat(task(r, "chatty").status().db()).isEqualTo("succeeded");
    List<String> chatty = logs(task(r, "chatty"));
    assertThat(chatty).hasSize(1001).startsWith("1", "2");
    assertThat(chatty.get(1000)).contains("199000 more lines").contains("KILN_MAX_LOG_LINES");

    assertThat(task(r, "bigmetrics").error())
        .contains("KILN_METRICS is")
        .contains("limit of 1 MiB (KILN_MAX_METRICS_BYTES)");
    assertThat(task(r, "nul").error()).contains("KILN_OUTPUTS line 1 contains a NUL byte");
    assertThat(task(r, "latin1").error()).contains("KILN_OUTPUTS is not valid UTF-8");

    // Nothing was retried as lost, and the worker serves the next run.
    long lost =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                            c,
                            "select count(*) from task_attempts where status = 'lost'",
                            rs -> rs.getLong(1))
                        .orElseThrow());
    assertThat(lost).isZero();
    assertThat(worker.isAlive()).isTrue();
    long next =
        engine
            .runs()
            .createRun(
                Pipelines.parse("name: next\nsteps:\n  a: { run: 'true' }\n"),
                Map.of(),
                "manual",
                dir.toString());
    assertThat(Pipelines.awaitEnd(engine, next, Duration.ofSeconds(60)).status())
        .isEqualTo(RunStatus.SUCCEEDED);
  }
}
