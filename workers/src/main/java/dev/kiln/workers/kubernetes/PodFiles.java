package dev.kiln.workers.kubernetes;

import static dev.kiln.engine.artifact.ArtifactStore.copyTree;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.S3Settings;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * How a step's files travel between a worker and a pod through the S3 artifact store, both ways as
 * one content-addressed folder: the worker stores the attempt's {@code kiln/inputs} and the pod's
 * init container ({@code kiln pod-files fetch SHA DIR}, in the kiln image) fetches it; when the
 * step ends, the pod's {@code push-results} container ({@code kiln pod-files push DIR}) stores
 * {@code outputs}, {@code metrics} and {@code artifacts/} and prints {@link #RESULTS} and the
 * folder's sha256 as its last log line, which the worker reads and unpacks into its work folder.
 */
final class PodFiles {
  /** The line {@code push} prints before the results' sha256. */
  static final String RESULTS = "kiln-results ";

  /** The file the step's wrapper writes its exit code to, in the pod's {@code kiln/} folder. */
  static final String STEP_EXIT = "step-exit";

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private static final List<String> RESULT_FILES = List.of("outputs", "metrics", "artifacts");

  private PodFiles() {}

  /** Stores the attempt's inputs folder; null when the step needs no artifacts. */
  static String stageInputs(ArtifactStore store, Path kiln) throws IOException {
    Path inputs = kiln.resolve("inputs");
    return Files.isDirectory(inputs) ? store.put(inputs).sha256() : null;
  }

  /** In the pod, before the step: the inputs folder {@code sha256} into {@code inputs}. */
  static void fetch(ArtifactStore store, String sha256, Path inputs) throws IOException {
    copyTree(store.local(sha256), inputs);
  }

  /**
   * In the pod, after the step: stores outputs, metrics and artifacts of {@code kiln} as one folder
   * and returns its sha256.
   */
  static String push(ArtifactStore store, Path kiln) throws IOException {
    Path results = Files.createTempDirectory("kiln-results");
    try {
      for (String name : RESULT_FILES) {
        Path p = kiln.resolve(name);
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
          copyTree(p, results.resolve(name));
        }
      }
      return store.put(results).sha256();
    } finally {
      ArtifactStore.deleteTree(results);
    }
  }

  /** On the worker: the pod's results {@code sha256} into the attempt's {@code kiln} folder. */
  static void unpack(ArtifactStore store, String sha256, Path kiln) throws IOException {
    Path results = store.local(sha256);
    for (String name : RESULT_FILES) {
      Path from = results.resolve(name);
      if (!Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      Path to = kiln.resolve(name);
      if (!Files.isDirectory(from)) {
        Files.deleteIfExists(to); // the empty file the worker made
      }
      copyTree(from, to);
    }
  }

  /** The results' sha256 from the {@code push-results} container's log, or null. */
  static String resultsOf(String log) {
    String sha = null;
    for (String line : log == null ? List.<String>of() : log.lines().toList()) {
      String rest = line.startsWith(RESULTS) ? line.substring(RESULTS.length()).strip() : "";
      if (SHA256.matcher(rest).matches()) {
        sha = rest;
      }
    }
    return sha;
  }

  /**
   * The store settings the pod's kiln containers need, as this worker has them. With {@code
   * KILN_K8S_STORE_SECRET} the keys come from that Secret ({@code AWS_ACCESS_KEY_ID}, {@code
   * AWS_SECRET_ACCESS_KEY}) rather than as values in the Job.
   */
  static List<EnvVar> storeEnv(S3Settings s, String secret) {
    List<EnvVar> env = new ArrayList<>();
    env.add(
        new EnvVar(
            "KILN_ARTIFACTS",
            "s3://" + s.bucket() + (s.prefix().isEmpty() ? "" : "/" + s.prefix()),
            null));
    if (s.endpoint() != null) {
      env.add(new EnvVar("KILN_S3_ENDPOINT", s.endpoint().toString(), null));
    }
    env.add(new EnvVar("AWS_REGION", s.region(), null));
    env.add(new EnvVar("KILN_HOME", "/tmp/kiln-pod", null));
    for (String[] key :
        new String[][] {
          {"AWS_ACCESS_KEY_ID", s.accessKey()},
          {"AWS_SECRET_ACCESS_KEY", s.secretKey()},
          {"AWS_SESSION_TOKEN", s.sessionToken()}
        }) {
      if (secret != null && !key[0].equals("AWS_SESSION_TOKEN")) {
        env.add(
            new EnvVarBuilder()
                .withName(key[0])
                .withNewValueFrom()
                .withNewSecretKeyRef(key[0], secret, false)
                .endValueFrom()
                .build());
      } else if (key[1] != null) {
        env.add(new EnvVar(key[0], key[1], null));
      }
    }
    return env;
  }
}
