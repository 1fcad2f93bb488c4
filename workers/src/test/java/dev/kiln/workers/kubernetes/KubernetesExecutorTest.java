package dev.kiln.workers.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.task.Completion.Outcome;
import dev.kiln.engine.task.TaskSpec;
import dev.kiln.engine.testing.Await;
import io.fabric8.kubernetes.api.model.ContainerStateTerminatedBuilder;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The executor's conversation with a Kubernetes API: fabric8's mock API server in CRUD mode keeps
 * what is posted, and the test plays the kubelet (it creates the Job's pod and its status). No
 * container runs: this checks what Kiln asks for and how it reads the answers, not a cluster.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesExecutorTest {
  static final String NS = "kiln-test";
  static final Duration WITHIN = Duration.ofSeconds(30);

  KubernetesMockServer server;
  KubernetesClient client;

  final List<String> logs = new CopyOnWriteArrayList<>();
  final Cancellation cancel = new Cancellation();

  private KubernetesExecutor executor(Duration startTimeout) {
    return new KubernetesExecutor(client, NS, startTimeout, Duration.ofMillis(50));
  }

  private Invocation invocation(long taskId, Long timeoutMs) {
    TaskSpec spec =
        new TaskSpec(
            "run",
            "python train.py",
            null,
            Map.of(),
            "kiln/python-ml:1",
            Map.of(),
            timeoutMs,
            1.5,
            512L << 20,
            null,
            null,
            Map.of(),
            null,
            null,
            false,
            List.of(),
            null);
    return new Invocation(
        new ClaimedTask(taskId, 7, "train", 2, "worker-1", spec),
        Path.of("/var/lib/kiln/work/run-7/train-2"),
        Map.of("KILN_RUN_ID", "7", "LR", "0.1"),
        "python train.py",
        (stream, text) -> logs.add(stream + ": " + text),
        cancel);
  }

  /** Runs the attempt on another thread, as a worker's task thread would. */
  static CompletableFuture<ExecutionResult> start(KubernetesExecutor ex, Invocation inv) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return ex.execute(inv);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  private Job awaitJob() throws Exception {
    return awaitJob(client);
  }

  /** The Job the executor created in {@link #NS}, once it is there. */
  static Job awaitJob(KubernetesClient client) throws Exception {
    Await.until(
        "the Job",
        WITHIN,
        () -> !client.batch().v1().jobs().inNamespace(NS).list().getItems().isEmpty());
    return client.batch().v1().jobs().inNamespace(NS).list().getItems().get(0);
  }

  /** What the kubelet would do: a pod for the Job, in the given state. */
  private Pod pod(Job job, String phase, Integer exitCode) {
    PodBuilder b =
        new PodBuilder()
            .withNewMetadata()
            .withName(job.getMetadata().getName() + "-x7k2p")
            .withNamespace(NS)
            .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
            .endMetadata()
            .withNewStatus()
            .withPhase(phase)
            .addNewContainerStatus()
            .withName("step")
            .withNewState()
            .endState()
            .endContainerStatus()
            .endStatus();
    Pod pod = b.build();
    if (exitCode != null) {
      pod.getStatus()
          .getContainerStatuses()
          .get(0)
          .getState()
          .setTerminated(new ContainerStateTerminatedBuilder().withExitCode(exitCode).build());
    }
    return client.pods().inNamespace(NS).resource(pod).create();
  }

  private void logsOf(Pod pod, String body) {
    server
        .expect()
        .get()
        .withPath(
            "/api/v1/namespaces/"
                + NS
                + "/pods/"
                + pod.getMetadata().getName()
                + "/log?pretty=false&container=step&timestamps=true&follow=true")
        .andReturn(200, body)
        .always();
  }

  private boolean jobGone(Job job) {
    return client.batch().v1().jobs().inNamespace(NS).withName(job.getMetadata().getName()).get()
        == null;
  }

  @Test
  void aStepRunsAsAJobWithItsImageCommandEnvResourcesDeadlineAndLabels() throws Exception {
    var result = start(executor(Duration.ofSeconds(30)), invocation(41, 90_500L));
    Job job = awaitJob();

    assertThat(job.getMetadata().getName()).isEqualTo("kiln-r7-t41-a2");
    assertThat(job.getMetadata().getLabels())
        .containsEntry("kiln.dev/run", "7")
        .containsEntry("kiln.dev/task", "41")
        .containsEntry("kiln.dev/step", "train")
        .containsEntry("kiln.dev/attempt", "2");
    assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(91L);
    assertThat(job.getSpec().getBackoffLimit()).isZero();
    var pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getRestartPolicy()).isEqualTo("Never");
    var container = pod.getContainers().get(0);
    assertThat(container.getImage()).isEqualTo("kiln/python-ml:1");
    assertThat(container.getCommand()).containsExactly("sh", "-c", "python train.py");
    assertThat(container.getEnv())
        .extracting(e -> e.getName() + "=" + e.getValue())
        .contains("KILN_RUN_ID=7", "LR=0.1");
    assertThat(container.getResources().getLimits().get("cpu").toString()).isEqualTo("1500m");
    assertThat(container.getResources().getLimits().get("memory").toString())
        .isEqualTo(String.valueOf(512L << 20));

    Pod p = pod(job, "Succeeded", 0);
    logsOf(
        p,
        "2026-01-01T00:00:00.000000001Z epoch 1 loss=0.5\n"
            + "2026-01-01T00:00:01.000000001Z epoch 2 loss=0.25\n");
    ExecutionResult r = result.get(WITHIN.toSeconds(), TimeUnit.SECONDS);

    assertThat(r.outcome()).as("%s %s", r, logs).isEqualTo(Outcome.SUCCEEDED);
    assertThat(r.exitCode()).isZero();
    assertThat(logs).contains("stdout: epoch 1 loss=0.5", "stdout: epoch 2 loss=0.25");
    assertThat(jobGone(job)).as("the Job is deleted once the attempt is settled").isTrue();
  }

  @Test
  void theContainersExitCodeIsRecorded() throws Exception {
    var result = start(executor(Duration.ofSeconds(30)), invocation(42, null));
    Job job = awaitJob();
    assertThat(job.getSpec().getActiveDeadlineSeconds()).isNull();
    Pod p = pod(job, "Failed", 3);
    logsOf(p, "2026-01-01T00:00:00Z Traceback: boom\n");
    ExecutionResult r = result.get(WITHIN.toSeconds(), TimeUnit.SECONDS);

    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.error()).isEqualTo("exit code 3");
    assertThat(logs).contains("stdout: Traceback: boom");
    assertThat(jobGone(job)).isTrue();
  }

  @Test
  void aPodThatDoesNotStartFailsTheAttemptWithItsEvents() throws Exception {
    var result = start(executor(Duration.ofSeconds(2)), invocation(43, null));
    Job job = awaitJob();
    Pod p = pod(job, "Pending", null);
    client
        .v1()
        .events()
        .inNamespace(NS)
        .resource(
            new EventBuilder()
                .withNewMetadata()
                .withName("e1")
                .withNamespace(NS)
                .endMetadata()
                .withNewInvolvedObject()
                .withKind("Pod")
                .withName(p.getMetadata().getName())
                .endInvolvedObject()
                .withType("Warning")
                .withReason("FailedScheduling")
                .withMessage("0/3 nodes are available: 3 Insufficient memory.")
                .build())
        .create();
    ExecutionResult r = result.get(WITHIN.toSeconds(), TimeUnit.SECONDS);

    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.error())
        .contains("did not start within 2s")
        .contains("FailedScheduling: 0/3 nodes are available: 3 Insufficient memory.");
    assertThat(logs)
        .anySatisfy(l -> assertThat(l).startsWith("system: event Pod/").contains("Insufficient"));
    assertThat(jobGone(job)).isTrue();
  }

  @Test
  void anApiRefusalFailsTheAttemptWithTheApisReason() throws Exception {
    server
        .expect()
        .post()
        .withPath("/apis/batch/v1/namespaces/" + NS + "/jobs")
        .andReturn(
            403,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(403)
                .withReason("Forbidden")
                .withMessage(
                    "jobs.batch is forbidden: User \"system:serviceaccount:kiln:worker\" cannot"
                        + " create resource \"jobs\" in API group \"batch\"")
                .build())
        .once();
    ExecutionResult r = executor(Duration.ofSeconds(30)).execute(invocation(44, null));

    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.error())
        .startsWith("kubernetes refused Job kiln-test/kiln-r7-t44-a2: jobs.batch is forbidden")
        .endsWith("(Forbidden)");
  }

  @Test
  void cancellingDeletesTheJob() throws Exception {
    var result = start(executor(Duration.ofSeconds(30)), invocation(45, null));
    Job job = awaitJob();
    Pod p = pod(job, "Running", null);
    logsOf(p, "2026-01-01T00:00:00Z working\n");
    Await.until("the log followed", WITHIN, () -> logs.contains("stdout: working"));
    cancel.cancel("run cancelled");
    ExecutionResult r = result.get(WITHIN.toSeconds(), TimeUnit.SECONDS);

    assertThat(r.outcome()).isEqualTo(Outcome.CANCELLED);
    assertThat(jobGone(job)).isTrue();
  }
}
