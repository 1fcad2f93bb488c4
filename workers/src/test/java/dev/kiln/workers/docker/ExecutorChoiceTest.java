package dev.kiln.workers.docker;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Sql;
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
 * Per-step {@code executor:}: two real workers on one database and one queue, one with {@code
 * --executor process} and one with {@code --executor docker}; each takes only the steps that
 * require its executor, and runs them with it.
 */
class ExecutorChoiceTest {
  @TempDir Path home;
  Engine engine;
  WorkerRuntime.Handle processWorker;
  WorkerRuntime.Handle dockerWorker;

  @BeforeEach
  void open() {
    DockerSupport.requireImage(DockerSupport.BUSYBOX);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    processWorker = worker("w-process", "process");
    dockerWorker = worker("w-docker", "docker");
  }

  private WorkerRuntime.Handle worker(String name, String executor) {
    return WorkerRuntime.load()
        .start(
            engine,
            new WorkerRuntime.Options(
                name, List.of("default"), 3, Duration.ofSeconds(30), executor));
  }

  @AfterEach
  void close() {
    processWorker.close();
    dockerWorker.close();
    engine.close();
  }

  @Test
  void eachWorkerTakesOnlyTheStepsOfItsExecutorKind() throws Exception {
    // A container's /etc/hostname is its own; a process reads this machine's.
    long run =
        start(
            engine,
            """
            name: kinds
            defaults: { image: kiln/busybox:1, timeout: 2m }
            steps:
              p1: { executor: process, run: 'echo "host=$(cat /etc/hostname)" >> $KILN_OUTPUTS' }
              p2: { executor: process, run: 'echo "host=$(cat /etc/hostname)" >> $KILN_OUTPUTS' }
              d1: { executor: docker, run: 'echo "host=$(cat /etc/hostname)" >> $KILN_OUTPUTS' }
              d2: { executor: docker, run: 'echo "host=$(cat /etc/hostname)" >> $KILN_OUTPUTS' }
            """,
            Map.of());
    var r = awaitEnd(engine, run, Duration.ofMinutes(3));
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);

    String thisHost = Files.readString(Path.of("/etc/hostname")).strip();
    List<String> ranOn =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        """
                        select t.step_id || ' ' || a.worker || ' ' || case when t.outputs ->> 'host' = ? then 'here' else 'in a container' end
                          from task_attempts a join tasks t on t.id = a.task_id
                         where t.run_id = ? order by t.step_id, a.attempt""",
                        rs -> rs.getString(1),
                        thisHost,
                        run));
    assertThat(ranOn)
        .containsExactly(
            "d1 w-docker in a container",
            "d2 w-docker in a container",
            "p1 w-process here",
            "p2 w-process here");
  }
}
