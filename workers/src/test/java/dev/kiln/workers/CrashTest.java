package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Processes killed with SIGKILL mid-run: nothing is lost, nothing runs twice at once. */
class CrashTest {
  @TempDir Path home;
  @TempDir Path dir;
  TestDb.Url url;
  Kiln kiln;
  Engine engine;

  @BeforeEach
  void setUp() {
    url = TestDb.freshUrl();
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", url.url(), "KILN_DB_USER", url.user()),
            dir);
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(url.url(), url.user(), url.password(), 4));
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  private record Attempt(
      String step, int attempt, String worker, String status, Instant start, Instant end) {}

  private List<Attempt> attempts(long run) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, a.attempt, a.worker, a.status, a.started_at, a.finished_at
          from task_attempts a join tasks t on t.id = a.task_id
         where t.run_id = ? order by t.step_id, a.attempt""",
                    rs ->
                        new Attempt(
                            rs.getString(1),
                            rs.getInt(2),
                            rs.getString(3),
                            rs.getString(4),
                            Sql.instant(rs, "started_at"),
                            Sql.instant(rs, "finished_at")),
                    run));
  }

  /** No step has two attempts whose running intervals overlap. */
  private static void assertNoOverlap(List<Attempt> all) {
    for (Attempt a : all) {
      for (Attempt b : all) {
        if (a.step().equals(b.step()) && a.attempt() < b.attempt()) {
          assertThat(a.end()).as("attempt %d of %s ended", a.attempt(), a.step()).isNotNull();
          assertThat(b.start())
              .as("%s attempt %d starts after attempt %d ended", a.step(), b.attempt(), a.attempt())
              .isAfterOrEqualTo(a.end());
        }
      }
    }
  }

  @Test
  void sigkilledKilnRunIsContinuedByTheNextKilnRunOfTheSamePipeline() throws Exception {
    Path marker = dir.resolve("second-time");
    Path pid = dir.resolve("slow.pid");
    Path p = dir.resolve("crash.yaml");
    Files.writeString(
        p,
        """
        name: crash
        steps:
          first: { run: 'echo "n=1" >> "$KILN_OUTPUTS"' }
          slow:
            needs: [first]
            run: |
              if [ -f "%s" ]; then echo "second attempt"; exit 0; fi
              touch "%s"
              echo $$ > "%s"
              sleep 300
          last: { needs: [slow], run: 'echo "n=${{ steps.first.outputs.n }}" >> "$KILN_OUTPUTS"' }
        """
            .formatted(marker, marker, pid));
    Process first = kiln.start("run", p.toString(), "--json");
    await(() -> Pipelines.pidWritten(pid), Duration.ofSeconds(60), "the slow step to start");
    long orphan = Long.parseLong(Files.readString(pid).trim());
    first.destroyForcibly();
    assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive)).contains(true);

    var again = kiln.run("run", p.toString(), "--json");
    assertThat(again.exit()).as(again.err()).isEqualTo(0);
    assertThat(again.err()).contains("continuing run");
    JsonNode summary = Json.MAPPER.readTree(again.out());
    long run = summary.get("run_id").asLong();
    assertThat(engine.store().runs(null, 10)).hasSize(1);
    assertThat(summary.get("status").asText()).isEqualTo("succeeded");
    assertThat(summary.get("steps").get(0).get("attempts").asInt()).isEqualTo(1);
    assertThat(summary.get("steps").get(1).get("attempts").asInt()).isEqualTo(2);
    assertThat(attempts(run))
        .filteredOn(a -> a.step().equals("slow"))
        .extracting(Attempt::status)
        .containsExactly("lost", "succeeded");
    assertNoOverlap(attempts(run));
    await(
        () -> ProcessHandle.of(orphan).map(h -> !h.isAlive()).orElse(true),
        Duration.ofSeconds(10),
        "the dead run's step process to be killed");
  }

  @Test
  void twoWorkerProcessesShareAFanOutAndOneOfThemCanBeKilled() throws Exception {
    StringBuilder yaml = new StringBuilder("name: wide\nsteps:\n");
    for (int i = 0; i < 50; i++) {
      yaml.append("  s").append(i).append(": { run: 'sleep 0.3' }\n");
    }
    Process a = kiln.start("worker", "--slots", "3", "--lease", "3s");
    Process b = kiln.start("worker", "--slots", "3", "--lease", "3s");
    try {
      long run =
          engine.runs().createRun(Pipelines.parse(yaml.toString()), Map.of(), "manual", null);
      String nameA = "worker-" + a.pid() + "@";
      // Kill A once both workers have finished work and A is in the middle of a step.
      await(
          () -> {
            List<Attempt> now = attempts(run);
            return now.stream()
                        .filter(x -> x.status().equals("succeeded"))
                        .map(Attempt::worker)
                        .distinct()
                        .count()
                    == 2
                && now.stream()
                    .anyMatch(x -> x.worker().startsWith(nameA) && x.status().equals("running"));
          },
          Duration.ofSeconds(60),
          "both workers to finish work and A to run a step");
      a.destroyForcibly();
      var r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(120));
      assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
      List<Attempt> all = attempts(run);
      List<Attempt> lost = all.stream().filter(x -> x.status().equals("lost")).toList();
      assertThat(lost).isNotEmpty().allSatisfy(x -> assertThat(x.worker()).startsWith(nameA));
      for (Attempt l : lost) {
        assertThat(all)
            .filteredOn(x -> x.step().equals(l.step()))
            .extracting(Attempt::status)
            .containsExactly("lost", "succeeded");
      }
      assertNoOverlap(all);
      assertThat(
              all.stream()
                  .filter(x -> x.status().equals("succeeded"))
                  .map(Attempt::worker)
                  .distinct())
          .hasSize(2);

      b.destroy(); // SIGTERM: drains and exits cleanly
      assertThat(b.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(b.exitValue()).isIn(0, 143);
    } finally {
      a.destroyForcibly();
      b.destroyForcibly();
    }
  }

  @Test
  void sigtermLetsARunningStepFinishBeforeTheWorkerExits() throws Exception {
    Path started = dir.resolve("started");
    Process w = kiln.start("worker", "--slots", "1", "--grace", "30s");
    try {
      long run =
          engine
              .runs()
              .createRun(
                  Pipelines.parse(
                      """
          name: drain
          steps:
            a: { run: 'touch "%s"; sleep 2; echo "done=yes" >> "$KILN_OUTPUTS"' }
          """
                          .formatted(started)),
                  Map.of(),
                  "manual",
                  null);
      await(() -> Files.exists(started), Duration.ofSeconds(60), "the step to start");
      w.destroy();
      assertThat(w.waitFor(60, TimeUnit.SECONDS)).isTrue();
      var r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(10));
      assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
      assertThat(engine.store().tasks(run).get(0).outputs()).containsEntry("done", "yes");
    } finally {
      w.destroyForcibly();
    }
  }
}
