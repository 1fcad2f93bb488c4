package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.config.KilnConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/kubernetes read into fabric8's typed model (a misspelt field lands in "additional
 * properties" and fails here), then the essentials checked: selectors match, probes and resources
 * are set, the worker may do what the kubernetes executor does, and the settings are ones Kiln
 * itself accepts.
 */
class KubernetesManifestsTest {
  static final Path DIR = Path.of("kubernetes");
  static final List<HasMetadata> ALL = new ArrayList<>();

  @BeforeAll
  static void read() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        if (f.getFileName().toString().equals("kustomization.yaml")) {
          continue;
        }
        for (String doc : Files.readString(f).split("(?m)^---\\s*$")) {
          if (doc.lines().anyMatch(l -> !l.isBlank() && !l.startsWith("#"))) {
            ALL.add(Serialization.unmarshal(doc));
          }
        }
      }
    }
  }

  static <T extends HasMetadata> List<T> all(Class<T> kind) {
    return ALL.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  static <T extends HasMetadata> T one(Class<T> kind, String name) {
    return all(kind).stream()
        .filter(x -> x.getMetadata().getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " " + name));
  }

  @Test
  void everyDocumentIsAKnownKindWithoutUnknownFields() {
    assertThat(ALL).isNotEmpty();
    for (Deployment d : all(Deployment.class)) {
      assertThat(d.getAdditionalProperties()).as(d.getMetadata().getName()).isEmpty();
      assertThat(d.getSpec().getAdditionalProperties()).isEmpty();
      assertThat(d.getSpec().getTemplate().getSpec().getAdditionalProperties()).isEmpty();
      for (Container c : d.getSpec().getTemplate().getSpec().getContainers()) {
        assertThat(c.getAdditionalProperties()).as(d.getMetadata().getName()).isEmpty();
      }
    }
    assertThat(ALL)
        .allSatisfy(
            x ->
                assertThat(x)
                    .isInstanceOfAny(
                        Deployment.class,
                        Service.class,
                        ConfigMap.class,
                        Secret.class,
                        ServiceAccount.class,
                        Role.class,
                        RoleBinding.class));
  }

  @Test
  void kustomizationListsEveryFile() throws IOException {
    String k = Files.readString(DIR.resolve("kustomization.yaml"));
    try (Stream<Path> files = Files.list(DIR)) {
      files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
          .forEach(n -> assertThat(k).contains("- " + n));
    }
  }

  @Test
  void deploymentsSelectTheirPodsRunTheKilnImageAsNonRootWithResourcesAndSettings() {
    assertThat(all(Deployment.class)).hasSizeGreaterThanOrEqualTo(3);
    for (Deployment d : all(Deployment.class)) {
      String name = d.getMetadata().getName();
      assertThat(d.getSpec().getTemplate().getMetadata().getLabels())
          .as(name)
          .containsAllEntriesOf(d.getSpec().getSelector().getMatchLabels());
      var pod = d.getSpec().getTemplate().getSpec();
      assertThat(pod.getSecurityContext().getRunAsNonRoot()).as(name).isTrue();
      Container c = pod.getContainers().get(0);
      assertThat(c.getImage()).as(name).isEqualTo("kiln/kiln:1");
      assertThat(c.getResources().getRequests()).as(name).containsKeys("cpu", "memory");
      assertThat(c.getResources().getLimits()).as(name).containsKeys("cpu", "memory");
      assertThat(c.getEnvFrom())
          .as(name)
          .extracting(
              e ->
                  e.getConfigMapRef() != null
                      ? "configMap " + e.getConfigMapRef().getName()
                      : "secret " + e.getSecretRef().getName())
          .contains("configMap kiln-settings", "secret kiln-secrets");
      assertThat(c.getVolumeMounts())
          .as(name + ": KILN_HOME is writable")
          .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/var/lib/kiln"));
    }
  }

  @Test
  void theServerIsProbedOnHealthAndExposedByTheService() {
    Deployment server = one(Deployment.class, "kiln-server");
    Container c = server.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(c.getArgs()).startsWith("server").contains("--host", "0.0.0.0");
    String port = c.getArgs().get(c.getArgs().indexOf("--port") + 1);
    assertThat(c.getPorts())
        .anySatisfy(
            p -> {
              assertThat(p.getName()).isEqualTo("http");
              assertThat(p.getContainerPort()).isEqualTo(Integer.parseInt(port));
            });
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health");
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health");
    assertThat(c.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("http");

    Service svc = one(Service.class, "kiln-server");
    assertThat(server.getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(svc.getSpec().getSelector());
    assertThat(svc.getSpec().getPorts().get(0).getTargetPort().getStrVal()).isEqualTo("http");
  }

  @Test
  void theClusterWorkerMayDoWhatTheKubernetesExecutorDoesAndNoMore() {
    Deployment cluster = one(Deployment.class, "kiln-worker-cluster");
    var pod = cluster.getSpec().getTemplate().getSpec();
    assertThat(pod.getContainers().get(0).getArgs())
        .containsSubsequence("worker", "--queue", "cluster")
        .containsSubsequence("--executor", "kubernetes");
    String account = pod.getServiceAccountName();
    assertThat(one(ServiceAccount.class, account)).isNotNull();

    RoleBinding binding =
        all(RoleBinding.class).stream()
            .filter(b -> b.getSubjects().stream().anyMatch(s -> s.getName().equals(account)))
            .findFirst()
            .orElseThrow();
    Role role = one(Role.class, binding.getRoleRef().getName());
    assertThat(verbs(role, "batch", "jobs")).contains("create", "get", "list", "delete");
    assertThat(verbs(role, "", "pods")).contains("get", "list");
    assertThat(verbs(role, "", "pods/log")).contains("get");
    assertThat(verbs(role, "", "events")).contains("list");
    assertThat(role.getRules())
        .as("nothing cluster-wide or wildcard")
        .allSatisfy(r -> assertThat(r.getVerbs()).doesNotContain("*"));

    Deployment local = one(Deployment.class, "kiln-worker-default");
    assertThat(local.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs())
        .containsSubsequence("--queue", "default");
  }

  @Test
  void theSettingsAreOnesKilnAccepts() {
    Map<String, String> env = new HashMap<>(one(ConfigMap.class, "kiln-settings").getData());
    env.putAll(one(Secret.class, "kiln-secrets").getStringData());
    KilnConfig config = KilnConfig.from(env);
    assertThat(config.dbUrl()).startsWith("jdbc:postgresql://");
    assertThat(config.s3()).isNotNull();
    assertThat(config.s3().endpoint()).isNotNull();
    assertThat(config.home().toString()).isEqualTo("/var/lib/kiln");
    assertThat(env).containsKeys("KILN_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
  }

  private static List<String> verbs(Role role, String group, String resource) {
    List<String> verbs = new ArrayList<>();
    for (PolicyRule r : role.getRules()) {
      if (r.getApiGroups().contains(group) && r.getResources().contains(resource)) {
        verbs.addAll(r.getVerbs());
      }
    }
    return verbs;
  }
}
