package dev.kiln.workers.docker;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.docker.DockerSupport.BUSYBOX;
import static dev.kiln.workers.docker.DockerSupport.containersOf;
import static dev.kiln.workers.docker.DockerSupport.start;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
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

/** docs/security.md, "What a step can see": container steps run with least privilege. */
class DockerSecurityTest {
  @TempDir Path home;
  Engine engine;
  WorkerRuntime.Handle worker;

  private static final Duration WITHIN = Duration.ofSeconds(90);

  @BeforeEach
  void open() {
    DockerSupport.requireImage(BUSYBOX);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "docker-security-worker", List.of("default"), 4, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() {
    if (worker != null) {
      worker.close();
      engine.close();
      containersOf(home)
          .forEach(
              c ->
                  DockerSupport.engine()
                      .client()
                      .removeContainerCmd(c.getId())
                      .withForce(true)
                      .exec());
    }
  }

  private TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void noPrivilegesNoCapabilitiesPidsLimitAndNoSecretOnTheCommandLine() throws Exception {
    // The surefire configuration sets KILN_SECRET_KILN_TEST (workers/pom.xml).
    String secret = System.getenv("KILN_SECRET_KILN_TEST");
    long run =
        start(
            engine,
            """
        name: hardened
        defaults: { image: kiln/busybox:1 }
        steps:
          status:
            run: |
              echo "s=${{ secrets.KILN_TEST }}" >> "$KILN_OUTPUTS"
              grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | sed 's/:[[:space:]]*/=/' >> "$KILN_OUTPUTS"
              while [ ! -e "$KILN_ARTIFACTS/../../go" ]; do sleep 0.1; done
          caps:
            capabilities: [NET_BIND_SERVICE]
            run: grep -E '^CapEff:' /proc/self/status | sed 's/:[[:space:]]*/=/' >> "$KILN_OUTPUTS"
          host:
            network: host
            continue_on_error: true
            run: echo never
        """);
    var client = DockerSupport.engine().client();
    InspectContainerResponse[] found = new InspectContainerResponse[1];
    Await.until(
        "the status step's container runs",
        WITHIN,
        () -> {
          for (var c : containersOf(home)) {
            try {
              var i = client.inspectContainerCmd(c.getId()).exec();
              if (String.join(" ", i.getConfig().getCmd()).contains("s=")) {
                found[0] = i;
              }
            } catch (NotFoundException ended) {
              // another step's container, removed as it exited
            }
          }
          return found[0] != null;
        });
    InspectContainerResponse inspected = found[0];
    assertThat(inspected).as("the status step's container").isNotNull();
    assertThat(String.join(" ", inspected.getConfig().getCmd())).doesNotContain(secret);
    assertThat(inspected.getHostConfig().getSecurityOpts()).contains("no-new-privileges");
    assertThat(inspected.getHostConfig().getPidsLimit()).isEqualTo(512L);
    // Let the step end: it waits for this file in its attempt folder's parent.
    Files.createFile(
        engine.config().workDir().resolve("run-" + run).resolve("status-1").resolve("go"));

    var r = awaitEnd(engine, run, WITHIN);

    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "status").outputs())
        .containsEntry("s", "***")
        .containsEntry("CapEff", "0000000000000000")
        .containsEntry("NoNewPrivs", "1");
    // NET_BIND_SERVICE is bit 10.
    assertThat(task(run, "caps").outputs()).containsEntry("CapEff", "0000000000000400");
    assertThat(task(run, "host").error()).contains("--allow-host-network");
  }
}
