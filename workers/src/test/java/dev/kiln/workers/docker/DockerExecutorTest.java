package dev.kiln.workers.docker;

import static dev.kiln.workers.Pipelines.await;
import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.docker.DockerSupport.BUSYBOX;
import static dev.kiln.workers.docker.DockerSupport.containersOf;
import static dev.kiln.workers.docker.DockerSupport.start;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole runs of container steps through the real worker loop, Docker engine and PostgreSQL. */
class DockerExecutorTest {
  @TempDir Path home;
  Engine engine;
  WorkerRuntime.Handle worker;

  private static final Duration WITHIN = Duration.ofSeconds(60);

  @BeforeEach
  void open() {
    DockerSupport.requireImage(BUSYBOX);
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "docker-test-worker", List.of("default"), 4, Duration.ofSeconds(10), null));
  }

  @AfterEach
  void close() {
    if (worker != null) {
      worker.close();
      engine.close();
      var left = containersOf(home);
      // Removed before asserting, so a failing test does not leave them running for the next.
      left.forEach(
          c ->
              DockerSupport.engine().client().removeContainerCmd(c.getId()).withForce(true).exec());
      assertThat(left).as("containers left behind").isEmpty();
    }
  }

  private TaskRecord task(long run, String step) {
    return engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .orElseThrow();
  }

  private String imageDigest(long run, String step) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select image_digest from tasks where run_id = ? and step_id = ?",
                    rs -> rs.getString(1),
                    run,
                    step))
        .get(0);
  }

  @Test
  void matrixCombinationsRunInTheirOwnContainersAndTheirArtifactsReachTheNextStep() {
    long run =
        start(
            engine,
            """
        name: grid-in-containers
        defaults: { image: kiln/busybox:1 }
        steps:
          sq:
            matrix: { n: [2, 3] }
            run: |
              echo "sq=$(( ${{ matrix.n }} * ${{ matrix.n }} ))" >> "$KILN_OUTPUTS"
              echo "$KILN_MATRIX" > "$KILN_ARTIFACTS/combination.json"
          sum:
            needs: [sq]
            run: |
              echo 'squares=${{ steps.sq.outputs.sq }}' >> "$KILN_OUTPUTS"
              echo "seen=$(cat "$KILN_INPUTS"/sq/*/combination.json | tr -d '\\n')" >> "$KILN_OUTPUTS"
        """);
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "sum").outputs())
        .containsEntry("squares", "[\"4\",\"9\"]")
        .containsEntry("seen", "{\"n\":2}{\"n\":3}");
    assertThat(imageDigest(run, "sq[n=2]")).startsWith("sha256:");
  }

  @Test
  void envOutputsMetricsArtifactsAndLogsFlowBetweenContainerSteps() {
    long run =
        start(
            engine,
            """
        name: flow
        defaults: { image: kiln/busybox:1 }
        steps:
          make:
            env: { WHO: kiln }
            run: |
              echo "making for $WHO in $(pwd)"
              echo "greeting=hello $WHO" >> "$KILN_OUTPUTS"
              echo "loss=0.5" >> "$KILN_METRICS"
              echo "loss=0.25" >> "$KILN_METRICS"
              echo "model-bytes" > "$KILN_ARTIFACTS/model.bin"
              echo "oops" >&2
          use:
            needs: [make]
            run: |
              test "$(cat "$KILN_INPUTS/make/model.bin")" = model-bytes
              echo "got=${{ steps.make.outputs.greeting }}" >> "$KILN_OUTPUTS"
        """);
    var r = awaitEnd(engine, run, WITHIN);
    assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "use").outputs()).containsEntry("got", "hello kiln");
    assertThat(engine.store().metrics(run).get("make")).containsEntry("loss", List.of(0.5, 0.25));
    String workDir = home.resolve("work/run-" + run + "/make-1").toString();
    assertThat(engine.store().logs(run, "make"))
        .extracting(LogLine::stream, LogLine::line)
        .contains(tuple("stdout", "making for kiln in " + workDir), tuple("stderr", "oops"));
    String busyboxId = DockerSupport.engine().client().inspectImageCmd(BUSYBOX).exec().getId();
    assertThat(imageDigest(run, "make")).isEqualTo(busyboxId).startsWith("sha256:");
  }

  @Test
  void nonZeroExitFailsTheStepWithItsExitCode() {
    long run =
        start(
            engine,
            """
        name: fails
        steps:
          bad: { image: kiln/busybox:1, run: "echo before; exit 3" }
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.FAILED);
    TaskRecord t = task(run, "bad");
    assertThat(t.error()).isEqualTo("exit code 3");
    assertThat(engine.store().logs(run, "bad")).extracting(LogLine::line).contains("before");
  }

  @Test
  void timeoutKillsTheContainer() {
    long t0 = System.nanoTime();
    long run =
        start(
            engine,
            """
        name: slow
        steps:
          slow: { image: kiln/busybox:1, timeout: 1s, run: "echo started; sleep 300" }
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "slow").error()).isEqualTo("timed out after 1s");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    assertThat(containersOf(home)).isEmpty();
  }

  @Test
  void memoryLimitExceededIsReportedAsOutOfMemory() {
    long run =
        start(
            engine,
            """
        name: hungry
        steps:
          hungry:
            image: kiln/busybox:1
            resources: { memory: 32m }
            run: x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo "${#x}"
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.FAILED);
    assertThat(task(run, "hungry").error()).isEqualTo("killed: out of memory (limit 32 MiB)");
  }

  @Test
  void cancelKillsAndRemovesTheRunningContainer() {
    long run =
        start(
            engine,
            """
        name: cancel-me
        steps:
          long: { image: kiln/busybox:1, run: "echo up; sleep 300" }
          after: { needs: [long], image: kiln/busybox:1, run: echo never }
        """);
    await(
        () ->
            engine.store().logs(run, "long").stream().anyMatch(l -> l.line().equals("up"))
                || engine.store().run(run).orElseThrow().status().terminal(),
        WITHIN,
        "the container to print");
    assertThat(task(run, "long").status()).isEqualTo(StepStatus.RUNNING);
    assertThat(containersOf(home)).hasSize(1);
    engine.runs().cancel(run);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.CANCELLED);
    assertThat(task(run, "long").status()).isEqualTo(StepStatus.CANCELLED);
    assertThat(task(run, "after").status()).isEqualTo(StepStatus.CANCELLED);
    await(
        () -> containersOf(home).isEmpty(), Duration.ofSeconds(20), "the container to be removed");
  }

  @Test
  void missingImageFailsFastWithAClearError() {
    long t0 = System.nanoTime();
    long run =
        start(
            engine,
            """
        name: no-image
        steps:
          ghost: { image: "kiln/x:1", run: "true" }
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.FAILED);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(40));
    assertThat(task(run, "ghost").error())
        .startsWith("image kiln/x:1 not found locally and could not be pulled (")
        .endsWith(
            "); build it here (docker build -t kiln/x:1 DIR) or load it (docker load -i FILE)")
        .doesNotContain("\n");
  }

  @Test
  void nonRootUserRunsTheCommandAndWritesItsResults() {
    long run =
        start(
            engine,
            """
        name: nobody
        steps:
          who:
            image: kiln/busybox:1
            user: "65534"
            run: |
              echo "uid=$(id -u)" >> "$KILN_OUTPUTS"
              echo "x" > "$KILN_ARTIFACTS/made-by-nobody.txt"
          next:
            needs: [who]
            image: kiln/busybox:1
            user: "65534"
            run: cat "$KILN_INPUTS/who/made-by-nobody.txt"
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status())
        .as("%s", engine.store().tasks(run))
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "who").outputs()).containsEntry("uid", "65534");
  }

  @Test
  void networkNoneAndResourcesBecomeContainerLimits() {
    long run =
        start(
            engine,
            """
        name: limits
        steps:
          limits:
            image: kiln/busybox:1
            network: none
            resources: { cpus: 0.5, memory: 64m }
            run: |
              echo "ifaces=$(ls /sys/class/net | tr '\\n' ' ')" >> "$KILN_OUTPUTS"
              if [ -f /sys/fs/cgroup/cpu.max ]; then
                echo "cpu=$(cut -d' ' -f1 /sys/fs/cgroup/cpu.max)" >> "$KILN_OUTPUTS"
                echo "mem=$(cat /sys/fs/cgroup/memory.max)" >> "$KILN_OUTPUTS"
              else
                echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" >> "$KILN_OUTPUTS"
                echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" >> "$KILN_OUTPUTS"
              fi
        """);
    assertThat(awaitEnd(engine, run, WITHIN).status())
        .as("%s", engine.store().tasks(run))
        .isEqualTo(RunStatus.SUCCEEDED);
    Map<String, String> out = task(run, "limits").outputs();
    assertThat(out.get("ifaces").trim()).isEqualTo("lo");
    assertThat(out).containsEntry("cpu", "50000").containsEntry("mem", String.valueOf(64 << 20));
  }

  @Test
  void retryRemovesTheContainerAnEarlierAttemptLeftBehind() {
    // What a worker that died mid-step leaves: a container labelled with the task's attempt 1.
    var client = DockerSupport.engine().client();
    String leftover =
        client
            .createContainerCmd(BUSYBOX)
            .withCmd("sleep", "300")
            .withLabels(
                Map.of(
                    DockerExecutor.LABEL_TASK,
                    "1",
                    DockerExecutor.LABEL_ATTEMPT,
                    "1",
                    DockerExecutor.LABEL_RUN_DIR,
                    home.resolve("work/run-1").toString()))
            .exec()
            .getId();
    client.startContainerCmd(leftover).exec();
    long run =
        start(
            engine,
            """
        name: second-time
        steps:
          flaky:
            image: kiln/busybox:1
            retries: { max: 1, backoff: 100ms }
            run: test "$KILN_ATTEMPT" = 2
        """);
    assertThat(run).isEqualTo(1);
    assertThat(awaitEnd(engine, run, WITHIN).status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "flaky").attempt()).isEqualTo(2);
    assertThat(containersOf(home)).extracting(c -> c.getId()).doesNotContain(leftover);
    assertThat(engine.store().logs(run, "flaky"))
        .extracting(LogLine::line)
        .contains("removing container " + leftover.substring(0, 12) + " left by attempt 1");
  }
}
