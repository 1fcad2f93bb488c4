package dev.kiln.workers.kubernetes;

import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.task.Completion.Outcome;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;

/**
 * Runs a step as a Kubernetes Job (one per attempt) through the fabric8 client: the cluster is the
 * one {@code KUBECONFIG} or the pod's service account names, the namespace {@code
 * KILN_K8S_NAMESPACE} or the client's. Chosen per queue: {@code kiln worker --queue gpu --executor
 * kubernetes}. The step's files do not travel: see docs/executors.md.
 */
public final class KubernetesExecutor implements Executor {
  /** A pod that is not running by then fails the attempt, with its events in the log. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  private final Duration startTimeout;
  private final Duration poll;
  private volatile KubernetesClient client;
  private volatile String namespace;

  public KubernetesExecutor() {
    this(null, null, startTimeoutFromEnv(), Duration.ofSeconds(1));
  }

  KubernetesExecutor(
      KubernetesClient client, String namespace, Duration startTimeout, Duration poll) {
    this.client = client;
    this.namespace = namespace;
    this.startTimeout = startTimeout;
    this.poll = poll;
  }

  @Override
  public String name() {
    return "kubernetes";
  }

  private KubernetesClient client() {
    KubernetesClient c = client;
    if (c == null) {
      synchronized (this) {
        if (client == null) {
          client = new KubernetesClientBuilder().build();
        }
        c = client;
      }
    }
    return c;
  }

  private String namespace(KubernetesClient c) {
    String ns = namespace;
    if (ns == null) {
      String env = System.getenv("KILN_K8S_NAMESPACE");
      ns = env != null && !env.isBlank() ? env : c.getNamespace();
      namespace = ns == null ? "default" : ns;
    }
    return namespace;
  }

  @Override
  public ExecutionResult execute(Invocation inv) throws InterruptedException {
    if (inv.task().spec().image() == null) {
      return new ExecutionResult(
          Outcome.FAILED,
          null,
          "the kubernetes executor needs an image: give the step (or defaults) an 'image'");
    }
    KubernetesClient c;
    String ns;
    try {
      c = client();
      ns = namespace(c);
    } catch (KubernetesClientException e) {
      return new ExecutionResult(
          Outcome.FAILED, null, "kubernetes: cannot set up the client: " + JobRun.reason(e));
    }
    return new JobRun(c, ns, inv, startTimeout, poll).run();
  }

  private static Duration startTimeoutFromEnv() {
    String s = System.getenv("KILN_K8S_START_TIMEOUT");
    if (s == null || s.isBlank()) {
      return START_TIMEOUT;
    }
    try {
      return Duration.ofSeconds(Long.parseLong(s.trim()));
    } catch (NumberFormatException e) {
      return START_TIMEOUT;
    }
  }
}
