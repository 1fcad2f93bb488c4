package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.EmbeddedServer;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded PostgreSQL stopped (SIGINT to its postmaster, as {@code kiln db stop} does) in the
 * middle of a run and started again on the same data folder and port: worker processes keep their
 * steps, record results once the store is back, and nothing runs twice; a {@code kiln server}'s
 * cron firings due meanwhile follow each trigger's {@code catchup}.
 */
class StoreOutageTest {
  /** The cron pipelines' period: firing every two seconds. */
  private static final long EVERY_MS = 2_000;

  @TempDir Path home;
  @TempDir Path dir;
  Kiln kiln;
  Engine engine;
  final List<Process> workers = new ArrayList<>();

  @BeforeEach
  void setUp() {
    EmbeddedServer server = EmbeddedServer.ensureRunning(home);
    kiln = new Kiln(Map.of("KILN_HOME", home.toString()), dir);
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(server.jdbcUrl(), EmbeddedServer.USER, server.password(), 4));
  }

  @AfterEach
  void tearDown() throws Exception {
    workers.forEach(Process::destroyForcibly);
    engine.close();
    EmbeddedServer.stop(home);
  }

  private record Attempt(String step, int attempt, String status) {}

  private List<Attempt> attempts(long run) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.step_id, a.attempt, a.status from task_attempts a
          join tasks t on t.id = a.task_id where t.run_id = ? order by t.step_id, a.attempt""",
                    rs -> new Attempt(rs.getString(1), rs.getInt(2), rs.getString(3)),
                    run));
  }

  private long succeeded(long run) {
    return attempts(run).stream().filter(a -> a.status().equals("succeeded")).count();
  }

  private static boolean running(long run, Engine engine) {
    try {
      return engine.store().run(run).orElseThrow().status() == RunStatus.RUNNING;
    } catch (RuntimeException e) {
      return false;
    }
  }

  @Test
  void aStoreRestartMidRunLosesNoResultAndRunsNoStepTwice() throws Exception {
    Path ends = dir.resolve("ends.txt");
    StringBuilder yaml = new StringBuilder("name: outage\nsteps:\n");
    for (int lane = 0; lane < 3; lane++) {
      for (int i = 0; i < 4; i++) {
        yaml.append("  l").append(lane).append('s').append(i).append(":\n");
        if (i > 0) {
          yaml.append("    needs: [l").append(lane).append('s').append(i - 1).append("]\n");
        }
        yaml.append(
                "    run: 'sleep 3; echo \"n=$KILN_STEP\" >> \"$KILN_OUTPUTS\"; echo \"$KILN_STEP"
                    + " $KILN_ATTEMPT $(date +%s%3N)\" >> ")
            .append(ends)
            .append("'\n");
      }
    }
    for (int i = 0; i < 2; i++) {
      workers.add(kiln.start("worker", "--slots", "2", "--lease", "60s"));
    }
    long run = engine.runs().createRun(Pipelines.parse(yaml.toString()), Map.of(), "manual", null);
    await(() -> succeeded(run) >= 3, Duration.ofSeconds(90), "three steps to succeed");

    long stoppedAt = System.currentTimeMillis();
    assertThat(EmbeddedServer.stop(home)).isTrue();
    Thread.sleep(15_000); // the outage itself: the steps go on meanwhile
    long restartedAt = System.currentTimeMillis();
    EmbeddedServer.ensureRunning(home);

    var r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(180));
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    List<Attempt> all = attempts(run);
    assertThat(all).hasSize(12).allSatisfy(a -> assertThat(a.status()).isEqualTo("succeeded"));
    List<String> lines = Files.readAllLines(ends);
    assertThat(lines).hasSize(12);
    assertThat(lines.stream().map(l -> l.split(" ")[0]).distinct()).hasSize(12);
    // Some steps ended while the store was down: their results were kept, then recorded.
    assertThat(lines)
        .anySatisfy(
            l -> assertThat(Long.parseLong(l.split(" ")[2])).isBetween(stoppedAt, restartedAt));
    assertThat(workers).allSatisfy(w -> assertThat(w.isAlive()).isTrue());
  }

  @Test
  void heartbeatsFailingForALeaseMakeTheWorkerStopItsStepBeforeAnotherCanStartIt()
      throws Exception {
    Path pid = dir.resolve("slow.pid");
    Path marker = dir.resolve("second");
    Path p = dir.resolve("slow.yaml");
    String yaml =
        """
        name: slow
        steps:
          slow:
            run: |
              if [ -f "%s" ]; then echo "n=2" >> "$KILN_OUTPUTS"; exit 0; fi
              touch "%s"
              echo $$ > "%s"
              sleep 300
        """
            .formatted(marker, marker, pid);
    Files.writeString(p, yaml);
    workers.add(kiln.start("worker", "--slots", "1", "--lease", "3s"));
    long run = engine.runs().createRun(Pipelines.parse(yaml), Map.of(), "manual", null);
    await(() -> Pipelines.pidWritten(pid), Duration.ofSeconds(60), "the slow step to start");
    long step = Long.parseLong(Files.readString(pid).trim());

    assertThat(EmbeddedServer.stop(home)).isTrue();
    // Down for longer than the lease: the worker itself stops the step, with the store still down.
    await(
        () -> ProcessHandle.of(step).map(h -> !h.isAlive()).orElse(true),
        Duration.ofSeconds(20),
        "the worker to stop its step while the store is down");
    EmbeddedServer.ensureRunning(home);

    var r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(90));
    assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(attempts(run)).extracting(Attempt::status).containsExactly("lost", "succeeded");
    assertThat(running(run, engine)).isFalse();
    assertThat(workers.get(0).isAlive()).isTrue();
  }

  private record Firing(Instant scheduledAt, String status) {
    boolean onSchedule() {
      return scheduledAt.toEpochMilli() % EVERY_MS == 0;
    }
  }

  private List<Firing> firings(String pipeline) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select scheduled_at, status from runs
         where pipeline = ? and trigger = 'cron' order by scheduled_at""",
                    rs -> new Firing(rs.getTimestamp(1).toInstant(), rs.getString(2)),
                    pipeline));
  }

  private long count(String sql, Object... args) {
    return engine.db().tx().inTransaction(c -> Sql.query(c, sql, rs -> rs.getLong(1), args).get(0));
  }

  private boolean laterFiringsSucceeded(String pipeline, Instant after, int n) {
    try {
      return firings(pipeline).stream()
              .filter(f -> f.onSchedule() && f.scheduledAt().isAfter(after))
              .filter(f -> f.status().equals("succeeded"))
              .count()
          >= n;
    } catch (RuntimeException storeNotBackYet) {
      return false;
    }
  }

  @Test
  void firingsDueWhileTheStoreIsDownFollowEachTriggersCatchupAndNoneIsDoubled() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    List<String> policies = List.of("none", "last", "all");
    for (String catchup : policies) {
      Files.writeString(
          pipelines.resolve(catchup + ".yaml"),
          """
          name: tick-%s
          triggers:
            - cron: "*/2 * * * * ?"
              catchup: %s
          steps:
            at:
              run: echo "at=${{ run.scheduled_at }}" >> "$KILN_OUTPUTS"
          """
              .formatted(catchup, catchup));
    }
    Process server =
        kiln.start("server", "--host", "127.0.0.1", "--port", "0", "--pipelines", "pipelines");
    workers.add(server);
    Instant started = Instant.now();
    for (String catchup : policies) {
      Await.until(
          "two firings of tick-" + catchup + " to succeed",
          Duration.ofSeconds(90),
          () -> laterFiringsSucceeded("tick-" + catchup, started, 2));
    }

    Instant stopped = Instant.now();
    assertThat(EmbeddedServer.stop(home)).isTrue();
    Thread.sleep(10_000); // the outage itself: five firing times pass meanwhile
    Instant restarted = Instant.now();
    EmbeddedServer.ensureRunning(home);

    for (String catchup : policies) {
      Await.until(
          "three firings of tick-" + catchup + " after the store is back",
          Duration.ofSeconds(90),
          () -> laterFiringsSucceeded("tick-" + catchup, restarted, 3));
    }
    assertThat(server.isAlive()).as("kiln server still running").isTrue();

    // A firing taken (up to a second early) before the stop may still start its run late, with
    // its own time; every firing time after that, up to the restart, was due with the store away.
    Instant missedFrom = stopped.plusMillis(1_500);
    for (String catchup : policies) {
      String pipeline = "tick-" + catchup;
      List<Firing> all = firings(pipeline);
      List<Instant> missed =
          all.stream()
              .map(Firing::scheduledAt)
              .filter(t -> t.isAfter(missedFrom) && t.isBefore(restarted))
              .toList();
      List<Firing> offSchedule =
          all.stream().filter(f -> !f.onSchedule() && f.scheduledAt().isAfter(restarted)).toList();
      switch (catchup) {
        case "none" -> {
          assertThat(missed).as("runs for missed times of " + pipeline).isEmpty();
          assertThat(all)
              .as("every run of " + pipeline + " at a firing time")
              .allMatch(Firing::onSchedule);
        }
        case "last" -> {
          assertThat(missed).as("runs for missed times of " + pipeline).isEmpty();
          Instant firstOnSchedule =
              all.stream()
                  .filter(f -> f.onSchedule() && f.scheduledAt().isAfter(restarted))
                  .findFirst()
                  .orElseThrow()
                  .scheduledAt();
          assertThat(offSchedule)
              .as("the one catch-up run of " + pipeline + ", before its next firing time")
              .filteredOn(f -> f.scheduledAt().isBefore(firstOnSchedule))
              .hasSize(1);
        }
        default -> {
          // Every firing time from the first run to the last one has its run, the missed ones too.
          Instant first = all.get(0).scheduledAt();
          Instant last = all.get(all.size() - 1).scheduledAt();
          long times = (last.toEpochMilli() - first.toEpochMilli()) / EVERY_MS + 1;
          assertThat(all)
              .as("runs of " + pipeline)
              .allMatch(Firing::onSchedule)
              .hasSize((int) times);
          assertThat(missed)
              .as("runs for missed times of " + pipeline)
              .hasSizeGreaterThanOrEqualTo(3);
          assertThat(all)
              .as("runs of " + pipeline)
              .allMatch(f -> f.status().equals("succeeded") || f.scheduledAt().isAfter(restarted));
        }
      }
      // Nothing doubled: one run per scheduled time, each with exactly its own trigger key.
      assertThat(
              count(
                  "select count(*) - count(distinct scheduled_at) from runs where pipeline = ?",
                  pipeline))
          .as("runs of " + pipeline + " sharing a scheduled time")
          .isZero();
      assertThat(
              count(
                  """
                  select count(*) from runs r where r.pipeline = ? and r.trigger = 'cron'
                     and (select count(*) from trigger_keys k where k.run_id = r.id
                           and k.key = 'cron:' || r.pipeline || ':0:'
                               || (extract(epoch from r.scheduled_at) * 1000)::bigint) <> 1""",
                  pipeline))
          .as("runs of " + pipeline + " without exactly one trigger key of their firing")
          .isZero();
    }
  }
}
