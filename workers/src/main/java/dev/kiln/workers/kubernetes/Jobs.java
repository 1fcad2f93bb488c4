package dev.kiln.workers.kubernetes;

import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.task.TaskSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The Job one attempt runs as: what it is named, labelled and asks for. Pure; no API calls. */
final class Jobs {
  static final String LABEL_RUN = "kiln.dev/run";
  static final String LABEL_TASK = "kiln.dev/task";
  static final String LABEL_STEP = "kiln.dev/step";
  static final String LABEL_ATTEMPT = "kiln.dev/attempt";

  /** The step's container in the pod (logs and exit code are read from it). */
  static final String CONTAINER = "step";

  /** The kiln containers that move the step's files (PodFiles). */
  static final String FETCH = "fetch-inputs";

  static final String PUSH = "push-results";

  /**
   * Runs the step's script ($1), then writes its exit code to $2 for the push-results container.
   * The KILN_* files exist first, as the worker makes them for the other executors.
   */
  static final String WRAPPER =
      "mkdir -p \"$KILN_ARTIFACTS\" && : >> \"$KILN_OUTPUTS\" && : >> \"$KILN_METRICS\"; "
          + "sh -c \"$1\"; code=$?; echo \"$code\" > \"$2\"; exit \"$code\"";

  /**
   * What makes a step's files travel through the artifact store: the kiln image its extra
   * containers run, the stored inputs folder (null: none) and the store's settings.
   */
  record PodSetup(String kilnImage, String inputsSha256, List<EnvVar> storeEnv) {}

  /** Finished Jobs the executor could not delete (its worker died) vanish after this. */
  static final int TTL_AFTER_FINISHED_S = 3600;

  private Jobs() {}

  /** kiln-r{run}-t{task}-a{attempt}: unique per attempt, a valid DNS-1123 name. */
  static String name(Invocation inv) {
    return "kiln-r" + inv.task().runId() + "-t" + inv.task().id() + "-a" + inv.task().attempt();
  }

  static Map<String, String> labels(Invocation inv) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(LABEL_RUN, String.valueOf(inv.task().runId()));
    l.put(LABEL_TASK, String.valueOf(inv.task().id()));
    l.put(LABEL_STEP, labelValue(inv.task().stepId()));
    l.put(LABEL_ATTEMPT, String.valueOf(inv.task().attempt()));
    return l;
  }

  static Job build(Invocation inv, String namespace) {
    return build(inv, namespace, null);
  }

  /** The Job; with {@code files}, also the containers that fetch inputs and push results. */
  static Job build(Invocation inv, String namespace, PodSetup files) {
    TaskSpec spec = inv.task().spec();
    List<EnvVar> env = new ArrayList<>();
    inv.env().forEach((k, v) -> env.add(new EnvVar(k, v, null)));
    Map<String, Quantity> resources = new LinkedHashMap<>();
    if (spec.cpus() != null) {
      resources.put("cpu", new Quantity(Math.round(spec.cpus() * 1000) + "m"));
    }
    if (spec.memoryBytes() != null) {
      resources.put("memory", new Quantity(String.valueOf(spec.memoryBytes())));
    }
    Long deadline = spec.timeoutMs() == null ? null : Math.max(1, (spec.timeoutMs() + 999) / 1000);
    String work = inv.workDir().toString();
    Path kiln = inv.workDir().resolve("kiln");
    List<String> command =
        files == null
            ? List.of("sh", "-c", inv.command())
            : List.of(
                "sh",
                "-c",
                WRAPPER,
                "kiln-step",
                inv.command(),
                kiln.resolve(PodFiles.STEP_EXIT).toString());
    List<Container> init = new ArrayList<>();
    List<Container> extra = new ArrayList<>();
    if (files != null) {
      if (files.inputsSha256() != null) {
        init.add(
            kilnContainer(
                FETCH,
                files,
                work,
                "pod-files",
                "fetch",
                files.inputsSha256(),
                kiln.resolve("inputs").toString()));
      }
      extra.add(kilnContainer(PUSH, files, work, "pod-files", "push", kiln.toString()));
    }
    return new JobBuilder()
        .withNewMetadata()
        .withName(name(inv))
        .withNamespace(namespace)
        .withLabels(labels(inv))
        .endMetadata()
        .withNewSpec()
        // One pod per attempt: Kiln's retries decide about another, not the Job controller.
        .withBackoffLimit(0)
        .withActiveDeadlineSeconds(deadline)
        .withTtlSecondsAfterFinished(TTL_AFTER_FINISHED_S)
        .withNewTemplate()
        .withNewMetadata()
        .withLabels(labels(inv))
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        .withInitContainers(init)
        .addNewContainer()
        .withName(CONTAINER)
        .withImage(spec.image())
        .withCommand(command)
        .withEnv(env)
        .withWorkingDir(inv.workDir().toString())
        .withResources(
            resources.isEmpty()
                ? null
                : new ResourceRequirementsBuilder()
                    .withRequests(resources)
                    .withLimits(resources)
                    .build())
        .addNewVolumeMount()
        .withName("work")
        .withMountPath(work)
        .endVolumeMount()
        .endContainer()
        .addAllToContainers(extra)
        // The KILN_* paths exist in the pod (empty): the worker's folder is on another machine.
        .addNewVolume()
        .withName("work")
        .withNewEmptyDir()
        .endEmptyDir()
        .endVolume()
        .endSpec()
        .endTemplate()
        .endSpec()
        .build();
  }

  /** A container of the kiln image running {@code kiln ARGS} with the store's settings. */
  private static Container kilnContainer(String name, PodSetup files, String work, String... args) {
    return new ContainerBuilder()
        .withName(name)
        .withImage(files.kilnImage())
        .withArgs(args)
        .withEnv(files.storeEnv())
        .addNewVolumeMount()
        .withName("work")
        .withMountPath(work)
        .endVolumeMount()
        .build();
  }

  /** A label value: at most 63 of [A-Za-z0-9_.-], starting and ending alphanumeric. */
  static String labelValue(String s) {
    String v = s.replaceAll("[^A-Za-z0-9_.-]", "_");
    if (v.length() > 63) {
      v = v.substring(0, 63);
    }
    v = v.replaceAll("^[^A-Za-z0-9]+", "").replaceAll("[^A-Za-z0-9]+$", "");
    return v.isEmpty() ? "step" : v;
  }
}
