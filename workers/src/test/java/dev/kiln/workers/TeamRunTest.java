package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Several people's `kiln run` on one database: each works only on its own run, Ctrl-C cancels, and
 * a run whose `kiln run` died is continued rather than left running.
 */
class TeamRunTest {
  @TempDir Path home;
  @TempDir Path dir;
  Kiln kiln;
  Engine engine;

  @BeforeEach
  void setUp() {
    TestDb.Url url = TestDb.freshUrl();
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

  /** The workers of each attempt of the run. */
  private List<String> workers(long run) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select a.worker from task_attempts a join tasks t on t.id = a.task_id
         where t.run_id = ? order by t.id, a.attempt""",
                    rs -> rs.getString(1),
                    run));
  }

  private long runOf(String pipeline) {
    return engine.store().runs(pipeline, 1).get(0).id();
  }

  /**
   * A pipeline whose first step waits until the other pipeline's first step has started, then fans
   * out: both processes are claiming from the same queue at the same time.
   */
  private Path pipeline(String name, Path mine, Path other) throws Exception {
    StringBuilder yaml = new StringBuilder("name: " + name + "\nsteps:\n");
    yaml.append(
        """
          meet:
            run: |
              touch "%s"
              i=0; while [ ! -f "%s" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
        """
            .formatted(mine, other));
    for (int i = 0; i < 8; i++) {
      yaml.append("  s").append(i).append(": { needs: [meet], run: 'sleep 0.3' }\n");
    }
    Path p = dir.resolve(name + ".yaml");
    Files.writeString(p, yaml);
    return p;
  }

  @Test
  void twoConcurrentKilnRunsNeverRunEachOthersSteps() throws Exception {
    Path a = pipeline("alpha", dir.resolve("a-met"), dir.resolve("b-met"));
    Path b = pipeline("beta", dir.resolve("b-met"), dir.resolve("a-met"));
    Process pa = kiln.start("run", a.toString(), "--slots", "4");
    Process pb = kiln.start("run", b.toString(), "--slots", "4");
    var ra = kiln.finish(pa, 120);
    var rb = kiln.finish(pb, 120);
    assertThat(ra.exit()).as(ra.out() + ra.err()).isZero();
    assertThat(rb.exit()).as(rb.out() + rb.err()).isZero();
    long alpha = runOf("alpha");
    long beta = runOf("beta");
    assertThat(workers(alpha))
        .hasSize(9)
        .allSatisfy(w -> assertThat(w).isEqualTo("run-" + pa.pid() + "@" + host(w)));
    assertThat(workers(beta))
        .hasSize(9)
        .allSatisfy(w -> assertThat(w).isEqualTo("run-" + pb.pid() + "@" + host(w)));
  }

  private static String host(String worker) {
    return worker.substring(worker.lastIndexOf('@') + 1);
  }

  @Test
  void aServingWorkerTakesTheQueueButAKilnRunOnlyItsOwnRun() throws Exception {
    // A run nobody drives (as a server starts one): a plain `kiln run` leaves it alone.
    long other =
        Pipelines.start(engine, "name: other\nsteps:\n  x: { run: 'echo hi' }\n", Map.of());
    Path own = dir.resolve("own.yaml");
    Files.writeString(own, "name: own\nsteps:\n  y: { run: 'echo mine' }\n");
    var r = kiln.run("run", own.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(engine.store().ended(other)).isFalse();
    assertThat(workers(other)).isEmpty();
    // With --serve-queue it works on the queue as a `kiln worker` does.
    var served = kiln.run("run", own.toString(), "--new", "--serve-queue");
    assertThat(served.exit()).as(served.err()).isZero();
    await(() -> engine.store().ended(other), Duration.ofSeconds(30), "the other run to end");
    assertThat(engine.store().run(other).orElseThrow().status()).isEqualTo(RunStatus.SUCCEEDED);
  }

  @ParameterizedTest
  @ValueSource(strings = {"INT", "TERM"})
  void aSignalCancelsTheRunPrintsTheSummaryAndExits130(String signal) throws Exception {
    Path pid = dir.resolve("slow.pid");
    Path p = dir.resolve("slow.yaml");
    Files.writeString(
        p,
        """
        name: slow
        steps:
          slow:
            run: |
              echo $$ > "%s"
              sleep 300
          after: { needs: [slow], run: 'echo never' }
        """
            .formatted(pid));
    Process run = kiln.start("run", p.toString());
    await(() -> Pipelines.pidWritten(pid), Duration.ofSeconds(60), "the slow step to start");
    long step = Long.parseLong(Files.readString(pid).trim());
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(run.pid())).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    var r = kiln.finish(run, 60);
    assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(130);
    long id = runOf("slow");
    assertThat(r.out()).contains("interrupted: cancelling run " + id);
    assertThat(r.out()).containsPattern("run " + id + " cancelled in [0-9.]+s: 2 cancelled\n");
    RunRecord stored = engine.store().run(id).orElseThrow();
    assertThat(stored.status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(ProcessHandle.of(step).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  /** A pipeline whose step sleeps the first time and succeeds the second. */
  private Path sleepsOnce(Path marker, Path pid) throws Exception {
    Path p = dir.resolve("once.yaml");
    Files.writeString(
        p,
        """
        name: once
        steps:
          slow:
            run: |
              if [ -f "%s" ]; then echo "second attempt"; exit 0; fi
              touch "%s"
              echo $$ > "%s"
              sleep 300
        """
            .formatted(marker, marker, pid));
    return p;
  }

  @Test
  void aRunWhoseKilnRunDiedIsShownAbandonedAndContinuedWithContinue() throws Exception {
    Path pid = dir.resolve("once.pid");
    Path p = sleepsOnce(dir.resolve("marker"), pid);
    Process first = kiln.start("run", p.toString());
    await(() -> Pipelines.pidWritten(pid), Duration.ofSeconds(60), "the step to start");
    first.destroyForcibly();
    assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long id = runOf("once");
    var runs = kiln.run("runs");
    assertThat(runs.out())
        .containsPattern(id + " +once +abandoned")
        .contains("run " + id + " is abandoned")
        .contains("kiln run --continue " + id);
    var cont = kiln.run("run", "--continue", Long.toString(id));
    assertThat(cont.exit()).as(cont.out() + cont.err()).isZero();
    assertThat(cont.out()).contains("continuing run " + id).contains("run " + id + " succeeded");
    var again = kiln.run("run", "--continue", Long.toString(id));
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("run " + id + " already succeeded");
  }

  @Test
  void aWorkerServingTheQueueTakesOverARunWhoseKilnRunDied() throws Exception {
    Path pid = dir.resolve("once.pid");
    Path p = sleepsOnce(dir.resolve("marker"), pid);
    Process first = kiln.start("run", p.toString());
    await(() -> Pipelines.pidWritten(pid), Duration.ofSeconds(60), "the step to start");
    first.destroyForcibly();
    assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long id = runOf("once");
    try (WorkerRuntime.Handle w =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "server-test", List.of("default"), 2, Duration.ofSeconds(2), null))) {
      RunRecord r = Pipelines.awaitEnd(engine, id, Duration.ofSeconds(60));
      assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
    }
    assertThat(engine.store().events(id, 0))
        .anySatisfy(e -> assertThat(e.detail()).contains("stopped; server-test continues it"));
    assertThat(kiln.run("runs").out()).doesNotContain("abandoned");
  }
}
