package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.EmbeddedServer;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * steps, record results once the store is back, and nothing runs twice.
 */
class StoreOutageTest {
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
}
