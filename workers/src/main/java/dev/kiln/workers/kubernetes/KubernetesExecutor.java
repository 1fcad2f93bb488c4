package dev.kiln.workers.kubernetes;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.artifact.S3ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.task.Completion.Outcome;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs a step as a Kubernetes Job (one per attempt) through the fabric8 client: the cluster is the
 * one {@code KUBECONFIG} or the pod's service account names, the namespace {@code
 * KILN_K8S_NAMESPACE} or the client's. Chosen per queue ({@code kiln worker --queue gpu --executor
 * kubernetes}) or per step ({@code executor: kubernetes}). With an S3 artifact store the step's
 * files travel through it ({@link PodFiles}); with the local folder they do not reach the pod.
 */
public final class KubernetesExecutor implements Executor {
  /** A pod that is not running by then fails the attempt, with its events in the log. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /** The image of the containers that move a step's files; KILN_K8S_KILN_IMAGE overrides it. */
  static final String KILN_IMAGE = "kiln/kiln:1";

  private final Duration startTimeout;
  private final Duration poll;
  private final Supplier<ArtifactStore> storeOpener;
  private final String kilnImage;
  private volatile KubernetesClient client;
  private volatile String namespace;
  private volatile ArtifactStore store;

  public KubernetesExecutor() {
    this(
        null,
        null,
        startTimeoutFromEnv(),
        Duration.ofSeconds(1),
        () -> ArtifactStore.open(KilnConfig.fromEnvironment()),
        env("KILN_K8S_KILN_IMAGE", KILN_IMAGE));
  }

  /** Steps' files do not travel (as with a local artifact store). */
  KubernetesExecutor(
      KubernetesClient client, String namespace, Duration startTimeout, Duration poll) {
    this(client, namespace, startTimeout, poll, () -> null, KILN_IMAGE);
  }

  KubernetesExecutor(
      KubernetesClient client,
      String namespace,
      Duration startTimeout,
      Duration poll,
      Supplier<ArtifactStore> storeOpener,
      String kilnImage) {
    this.client = client;
    this.namespace = namespace;
    this.startTimeout = startTimeout;
    this.poll = poll;
    this.storeOpener = storeOpener;
    this.kilnImage = kilnImage;
  }

  /** The S3 store the step's files travel through, or null (none, or the local folder). */
  private synchronized ArtifactStore s3Store() {
    if (store == null) {
      store = storeOpener.get();
    }
    return store instanceof S3ArtifactStore ? store : null;
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
    ArtifactStore s3 = s3Store();
    PodFileStore files =
        s3 == null
            ? null
            : new PodFileStore(
                s3,
                kilnImage,
                PodFiles.storeEnv(
                    ((S3ArtifactStore) s3).settings(), env("KILN_K8S_STORE_SECRET", null)));
    return new JobRun(c, ns, inv, startTimeout, poll, files).run();
  }

  /** The store a step's files travel through, and what the pod's kiln containers need for it. */
  record PodFileStore(ArtifactStore store, String kilnImage, List<EnvVar> storeEnv) {}

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v.trim();
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
