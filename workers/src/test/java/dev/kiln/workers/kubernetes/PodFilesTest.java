package dev.kiln.workers.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.task.Completion.Outcome;
import dev.kiln.engine.task.TaskSpec;
import dev.kiln.engine.testing.S3ProxyServer;
import dev.kiln.workers.Kiln;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStateTerminatedBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Kubernetes step's files through the S3 artifact store: the Job carries an init container that
 * fetches the inputs and a container that pushes the results, both of the kiln image with the
 * store's settings; after the pod ended the worker unpacks the results into its work folder. The
 * API is fabric8's mock server (CRUD mode; the test plays the kubelet, and runs what the pod's kiln
 * containers would run, the real {@code kiln pod-files fetch|push} with the Job's env, on a
 * KILN_HOME of the "pod"); the S3 side is a real S3Proxy on loopback.
 */
@EnableKubernetesMockClient(crud = true)
class PodFilesTest {
  static final String NS = KubernetesExecutorTest.NS;
  // The test runs the pod's two kiln commands as JVMs before it reports the pod: minutes on a
  // loaded machine.
  static final Duration POD_STARTS_WITHIN = Duration.ofMinutes(5);

  KubernetesMockServer server;
  KubernetesClient client;

  @TempDir Path s3dir;
  @TempDir Path workerHome;
  @TempDir Path podHome;

  S3ProxyServer s3;
  ArtifactStore workerStore;
  final List<String> logs = new CopyOnWriteArrayList<>();

  @BeforeEach
  void open() throws Exception {
    s3 = S3ProxyServer.start(s3dir);
    s3.createBucket("kiln");
    workerStore = store(workerHome);
  }

  private ArtifactStore store(Path home) {
    Map<String, String> env = s3.env("kiln", "pods");
    env.put("KILN_HOME", home.toString());
    return ArtifactStore.open(KilnConfig.from(env));
  }

  @AfterEach
  void close() throws Exception {
    workerStore.close();
    s3.close();
  }

  private Invocation invocation(Path work) {
    TaskSpec spec =
        new TaskSpec(
            "run",
            "python train.py",
            null,
            Map.of(),
            "kiln/python-ml:1",
            Map.of(),
            null,
            null,
            null,
            null,
            null,
            Map.of(),
            null,
            null,
            false,
            List.of(),
            null);
    return new Invocation(
        new ClaimedTask(51, 7, "train", 1, "worker-1", spec),
        work,
        Map.of("KILN_OUTPUTS", work.resolve("kiln/outputs").toString()),
        "python train.py",
        (stream, text) -> logs.add(stream + ": " + text),
        new Cancellation());
  }

  @Test
  void inputsReachThePodAndItsOutputsMetricsAndArtifactsComeBackThroughTheStore() throws Exception {
    // The worker's work folder as TaskRunner makes it, with an input from an earlier step.
    Path work = workerHome.resolve("work/run-7/train-1");
    Path kiln = Files.createDirectories(work.resolve("kiln"));
    Files.createDirectories(kiln.resolve("artifacts"));
    Files.createFile(kiln.resolve("outputs"));
    Files.createFile(kiln.resolve("metrics"));
    Files.createDirectories(kiln.resolve("inputs/prepare"));
    Files.writeString(kiln.resolve("inputs/prepare/data.csv"), "x,y\n1,2\n");

    CompletableFuture<ExecutionResult> result = start(work);
    Job job = awaitJob();
    var podSpec = job.getSpec().getTemplate().getSpec();

    // The init container fetches the stored inputs folder into the pod's KILN_INPUTS.
    Container fetch = podSpec.getInitContainers().get(0);
    assertThat(fetch.getName()).isEqualTo("fetch-inputs");
    assertThat(fetch.getImage()).isEqualTo("kiln/kiln:1");
    assertThat(fetch.getArgs().subList(0, 2)).containsExactly("pod-files", "fetch");
    String inputs = fetch.getArgs().get(2);
    assertThat(fetch.getArgs().get(3)).isEqualTo(kiln.resolve("inputs").toString());
    assertThat(fetch.getEnv())
        .extracting(EnvVar::getName)
        .contains(
            "KILN_ARTIFACTS",
            "KILN_S3_ENDPOINT",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY");
    assertThat(value(fetch, "KILN_ARTIFACTS")).isEqualTo("s3://kiln/pods");
    assertThat(value(fetch, "KILN_S3_ENDPOINT")).isEqualTo(s3.endpoint().toString());
    // The step runs through the wrapper that records its exit code for the push container.
    Container step = podSpec.getContainers().get(0);
    assertThat(step.getName()).isEqualTo("step");
    assertThat(step.getCommand())
        .containsExactly(
            "sh",
            "-c",
            Jobs.WRAPPER,
            "kiln-step",
            "python train.py",
            kiln.resolve("step-exit").toString());
    Container push = podSpec.getContainers().get(1);
    assertThat(push.getName()).isEqualTo("push-results");
    assertThat(push.getArgs()).containsExactly("pod-files", "push", kiln.toString());
    assertThat(push.getEnv()).isEqualTo(fetch.getEnv());
    assertThat(podSpec.getVolumes()).extracting(v -> v.getName()).containsExactly("work");

    // What the pod does, with the env the Job gives its kiln containers (KILN_HOME: the pod's
    // file system): the real `kiln pod-files` fetches, the step writes its files, `push` stores
    // them.
    Map<String, String> podEnv = new HashMap<>();
    fetch.getEnv().forEach(e -> podEnv.put(e.getName(), e.getValue()));
    podEnv.put("KILN_HOME", podHome.toString());
    Kiln kilnCli = new Kiln(podEnv, podHome);
    Path podKiln = podHome.resolve("work/kiln");
    Kiln.Result fetched =
        kilnCli.run("pod-files", "fetch", inputs, podKiln.resolve("inputs").toString());
    assertThat(fetched.exit()).as(fetched.err()).isZero();
    assertThat(podKiln.resolve("inputs/prepare/data.csv")).hasContent("x,y\n1,2\n");
    Files.writeString(podKiln.resolve("outputs"), "accuracy=0.93\n");
    Files.writeString(podKiln.resolve("metrics"), "accuracy=0.93\n");
    Files.createDirectories(podKiln.resolve("artifacts/model"));
    Files.writeString(podKiln.resolve("artifacts/model/weights.bin"), "w");
    Files.writeString(podKiln.resolve("step-exit"), "0\n");
    Kiln.Result pushed = kilnCli.run("pod-files", "push", podKiln.toString());
    assertThat(pushed.exit()).as(pushed.err()).isZero();
    String results = PodFiles.resultsOf(pushed.out());
    assertThat(results).as(pushed.out()).isNotNull();

    podEnded(job, pushed.out());

    ExecutionResult r = result.get(POD_STARTS_WITHIN.toSeconds(), TimeUnit.SECONDS);
    assertThat(r.outcome()).as("%s %s", r, logs).isEqualTo(Outcome.SUCCEEDED);
    assertThat(kiln.resolve("outputs")).hasContent("accuracy=0.93\n");
    assertThat(kiln.resolve("metrics")).hasContent("accuracy=0.93\n");
    assertThat(kiln.resolve("artifacts/model/weights.bin")).hasContent("w");
    assertThat(logs).anySatisfy(l -> assertThat(l).contains("fetched from the store"));
  }

  @Test
  void aSucceededPodWhoseResultsDidNotComeBackFailsTheStep() throws Exception {
    Path work = workerHome.resolve("work/run-7/train-1");
    Files.createDirectories(work.resolve("kiln/artifacts"));
    CompletableFuture<ExecutionResult> result = start(work);
    Job job = awaitJob();
    assertThat(job.getSpec().getTemplate().getSpec().getInitContainers())
        .as("no inputs, nothing to fetch")
        .isEmpty();
    podEnded(job, "kiln-results would follow; the store did not answer\n");

    ExecutionResult r = result.get(POD_STARTS_WITHIN.toSeconds(), TimeUnit.SECONDS);
    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.error())
        .startsWith("the step's files did not come back from pod kiln-r7-t51-a1-q8z2x");
  }

  private CompletableFuture<ExecutionResult> start(Path work) {
    return KubernetesExecutorTest.start(
        new KubernetesExecutor(
            client, NS, POD_STARTS_WITHIN, Duration.ofMillis(50), () -> workerStore, "kiln/kiln:1"),
        invocation(work));
  }

  private Job awaitJob() throws Exception {
    return KubernetesExecutorTest.awaitJob(client);
  }

  /** What the kubelet reports once the pod ended: step exited 0; the push container's log. */
  private void podEnded(Job job, String pushLog) {
    Pod pod =
        client
            .pods()
            .inNamespace(NS)
            .resource(
                new PodBuilder()
                    .withNewMetadata()
                    .withName(job.getMetadata().getName() + "-q8z2x")
                    .withNamespace(NS)
                    .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                    .endMetadata()
                    .withNewStatus()
                    .withPhase("Succeeded")
                    .addNewContainerStatus()
                    .withName("step")
                    .withNewState()
                    .withTerminated(new ContainerStateTerminatedBuilder().withExitCode(0).build())
                    .endState()
                    .endContainerStatus()
                    .endStatus()
                    .build())
            .create();
    String podPath = "/api/v1/namespaces/" + NS + "/pods/" + pod.getMetadata().getName() + "/log";
    server
        .expect()
        .get()
        .withPath(podPath + "?pretty=false&container=step&timestamps=true&follow=true")
        .andReturn(200, "2026-01-01T00:00:00Z training\n")
        .always();
    server
        .expect()
        .get()
        .withPath(podPath + "?pretty=false&container=push-results")
        .andReturn(200, pushLog)
        .always();
  }

  private static String value(Container c, String name) {
    return c.getEnv().stream()
        .filter(e -> e.getName().equals(name))
        .findFirst()
        .orElseThrow()
        .getValue();
  }
}
