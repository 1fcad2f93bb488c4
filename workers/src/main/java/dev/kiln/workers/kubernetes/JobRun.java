package dev.kiln.workers.kubernetes;

import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.spi.LogSink;
import dev.kiln.engine.task.Completion.Outcome;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.LogWatch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One attempt's conversation with the API server: create the Job, wait for its pod to start (or
 * fail the attempt with the pod's events), follow its log, read the exit code, delete the Job.
 * Cancellation (run cancelled, lease lost, worker stopping) deletes the Job at once.
 */
final class JobRun {
  private static final Set<String> ENDED = Set.of("Succeeded", "Failed");

  private final KubernetesClient c;
  private final String ns;
  private final Invocation inv;
  private final LogSink logs;
  private final Duration startTimeout;
  private final Duration poll;
  private final String name;
  private final KubernetesExecutor.PodFileStore files;
  private volatile boolean deleted;

  JobRun(
      KubernetesClient c,
      String ns,
      Invocation inv,
      Duration startTimeout,
      Duration poll,
      KubernetesExecutor.PodFileStore files) {
    this.files = files;
    this.c = c;
    this.ns = ns;
    this.inv = inv;
    this.logs = inv.logs();
    this.startTimeout = startTimeout;
    this.poll = poll;
    this.name = Jobs.name(inv);
  }

  ExecutionResult run() throws InterruptedException {
    Jobs.PodSetup setup = null;
    if (files == null) {
      logs.line(
          "system",
          "the artifact store is not S3: the step's files do not reach the pod"
              + " (KILN_ARTIFACTS=s3://..., docs/executors.md)");
    } else {
      try {
        setup =
            new Jobs.PodSetup(
                files.kilnImage(),
                PodFiles.stageInputs(files.store(), inv.workDir().resolve("kiln")),
                files.storeEnv());
      } catch (IOException e) {
        return failed("cannot store the step's inputs for its pod: " + e.getMessage());
      }
    }
    try {
      removeLeftovers();
      c.batch().v1().jobs().inNamespace(ns).resource(Jobs.build(inv, ns, setup)).create();
    } catch (KubernetesClientException e) {
      return failed("kubernetes refused Job " + ns + "/" + name + ": " + reason(e));
    }
    logs.line("system", "created Job " + ns + "/" + name);
    inv.cancellation().onCancel(this::delete);
    try {
      Pod pod = awaitStart();
      if (inv.cancellation().isCancelled()) {
        return new ExecutionResult(Outcome.CANCELLED, null, inv.cancellation().reason());
      }
      if (pod == null) {
        return notStarted();
      }
      logs.line("system", "pod " + pod.getMetadata().getName() + " is " + phase(pod));
      follow(pod.getMetadata().getName());
      ExecutionResult r = ended(pod.getMetadata().getName());
      return files == null || r.exitCode() == null ? r : results(pod.getMetadata().getName(), r);
    } catch (KubernetesClientException e) {
      return failed("kubernetes: " + reason(e));
    } finally {
      delete();
    }
  }

  /** The attempt's pod once it runs (or already ended); null when it did not start in time. */
  private Pod awaitStart() throws InterruptedException {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    String lastWaiting = null;
    while (!inv.cancellation().isCancelled()) {
      Pod pod = pod();
      if (pod != null) {
        String phase = phase(pod);
        if ("Running".equals(phase) || ENDED.contains(phase)) {
          return pod;
        }
        String waiting = waitingReason(pod);
        if (waiting != null && !waiting.equals(lastWaiting)) {
          logs.line("system", "pod " + pod.getMetadata().getName() + " waiting: " + waiting);
          lastWaiting = waiting;
        }
      }
      if (failedCondition() != null || System.nanoTime() > deadline) {
        return null;
      }
      Thread.sleep(poll.toMillis());
    }
    return null;
  }

  private ExecutionResult notStarted() {
    JobCondition failed = failedCondition();
    Pod pod = pod();
    List<Event> events = events(pod == null ? null : pod.getMetadata().getName());
    for (Event e : events) {
      logs.line(
          "system",
          "event "
              + e.getInvolvedObject().getKind()
              + "/"
              + e.getInvolvedObject().getName()
              + ": "
              + e.getType()
              + " "
              + e.getReason()
              + ": "
              + e.getMessage());
    }
    String last =
        events.isEmpty()
            ? "no events"
            : events.get(events.size() - 1).getReason()
                + ": "
                + events.get(events.size() - 1).getMessage();
    if (failed != null) {
      return failed(
          "Job "
              + name
              + " failed before its pod ran: "
              + failed.getReason()
              + ": "
              + failed.getMessage()
              + " ("
              + last
              + ")");
    }
    return failed(
        "the pod of Job "
            + name
            + " did not start within "
            + startTimeout.toSeconds()
            + "s ("
            + (pod == null ? "no pod was created" : "still " + phase(pod))
            + "; "
            + last
            + ")");
  }

  /**
   * Follows the step container's log until it ends. A stream the API server drops while the pod
   * still runs is reopened from the last timestamp seen, skipping the lines already passed on.
   */
  private void follow(String pod) throws InterruptedException {
    String since = null;
    int seenAtSince = 0;
    for (int opened = 0; opened < 20 && !inv.cancellation().isCancelled(); opened++) {
      var op = c.pods().inNamespace(ns).withName(pod).inContainer(Jobs.CONTAINER).usingTimestamps();
      int skip = seenAtSince;
      try (LogWatch w = since == null ? op.watchLog() : op.sinceTime(since).watchLog();
          BufferedReader r =
              new BufferedReader(new InputStreamReader(w.getOutput(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          int sp = line.indexOf(' ');
          String ts = sp > 0 && Character.isDigit(line.charAt(0)) ? line.substring(0, sp) : null;
          String text = ts == null ? line : line.substring(sp + 1);
          if (ts != null && ts.equals(since) && skip > 0) {
            skip--;
            continue;
          }
          logs.line("stdout", text);
          if (ts != null) {
            seenAtSince = ts.equals(since) ? seenAtSince + 1 : 1;
            since = ts;
          }
        }
      } catch (IOException | KubernetesClientException e) {
        logs.line("system", "log stream broke off: " + e.getMessage());
      }
      Pod p = pod();
      if (p == null || ENDED.contains(phase(p))) {
        return;
      }
      Thread.sleep(poll.toMillis());
    }
  }

  private ExecutionResult ended(String podName) throws InterruptedException {
    while (true) {
      if (inv.cancellation().isCancelled()) {
        return new ExecutionResult(Outcome.CANCELLED, null, inv.cancellation().reason());
      }
      JobCondition failed = failedCondition();
      if (failed != null && "DeadlineExceeded".equals(failed.getReason())) {
        return new ExecutionResult(
            Outcome.TIMED_OUT,
            null,
            "timed out after "
                + Duration.ofMillis(inv.task().spec().timeoutMs())
                    .toString()
                    .substring(2)
                    .toLowerCase()
                + " (activeDeadlineSeconds)");
      }
      Pod pod = c.pods().inNamespace(ns).withName(podName).get();
      if (pod == null) {
        return failed("the pod " + podName + " was deleted before it ended");
      }
      if (ENDED.contains(phase(pod))) {
        ContainerStateTerminated t = terminated(pod);
        if (t == null || t.getExitCode() == null) {
          return failed("the pod " + podName + " ended (" + phase(pod) + ") without an exit code");
        }
        if ("OOMKilled".equals(t.getReason())) {
          return new ExecutionResult(Outcome.FAILED, t.getExitCode(), "killed: out of memory");
        }
        return ExecutionResult.exited(t.getExitCode());
      }
      Thread.sleep(poll.toMillis());
    }
  }

  /**
   * The step's outputs, metrics and artifacts, which the pod's push-results container stored, into
   * the worker's work folder (where the worker reads them for every executor). A failed step's
   * files come back too when they were pushed; a succeeded one without them fails.
   */
  private ExecutionResult results(String podName, ExecutionResult r) {
    String sha;
    try {
      sha =
          PodFiles.resultsOf(
              c.pods().inNamespace(ns).withName(podName).inContainer(Jobs.PUSH).getLog());
    } catch (KubernetesClientException e) {
      logs.line("system", "cannot read the log of " + Jobs.PUSH + ": " + reason(e));
      sha = null;
    }
    if (sha == null) {
      return r.outcome() == Outcome.SUCCEEDED
          ? failed(
              "the step's files did not come back from pod "
                  + podName
                  + " (its "
                  + Jobs.PUSH
                  + " container printed no result)")
          : r;
    }
    try {
      PodFiles.unpack(files.store(), sha, inv.workDir().resolve("kiln"));
      logs.line("system", "step files of pod " + podName + " fetched from the store (" + sha + ")");
      return r;
    } catch (IOException e) {
      return failed("cannot fetch the step's files from the store: " + e.getMessage());
    }
  }

  private Pod pod() {
    List<Pod> pods =
        c.pods()
            .inNamespace(ns)
            .withLabel(Jobs.LABEL_TASK, String.valueOf(inv.task().id()))
            .withLabel(Jobs.LABEL_ATTEMPT, String.valueOf(inv.task().attempt()))
            .list()
            .getItems();
    return pods.isEmpty() ? null : pods.get(0);
  }

  private JobCondition failedCondition() {
    Job job = c.batch().v1().jobs().inNamespace(ns).withName(name).get();
    if (job == null || job.getStatus() == null || job.getStatus().getConditions() == null) {
      return null;
    }
    return job.getStatus().getConditions().stream()
        .filter(x -> "Failed".equals(x.getType()) && "True".equals(x.getStatus()))
        .findFirst()
        .orElse(null);
  }

  /** The events about the Job and its pod, oldest first. */
  private List<Event> events(String podName) {
    try {
      return c.v1().events().inNamespace(ns).list().getItems().stream()
          .filter(
              e ->
                  e.getInvolvedObject() != null
                      && (name.equals(e.getInvolvedObject().getName())
                          || Objects.equals(podName, e.getInvolvedObject().getName())))
          .sorted(Comparator.comparing(e -> String.valueOf(e.getLastTimestamp())))
          .toList();
    } catch (KubernetesClientException e) {
      logs.line("system", "cannot read the events: " + reason(e));
      return List.of();
    }
  }

  /** Jobs of earlier attempts of this task whose worker died before deleting them. */
  private void removeLeftovers() {
    if (inv.task().attempt() <= 1) {
      return;
    }
    for (Job j :
        c.batch()
            .v1()
            .jobs()
            .inNamespace(ns)
            .withLabel(Jobs.LABEL_TASK, String.valueOf(inv.task().id()))
            .list()
            .getItems()) {
      if (!name.equals(j.getMetadata().getName())) {
        logs.line(
            "system", "deleting Job " + j.getMetadata().getName() + " left by an earlier attempt");
        c.batch()
            .v1()
            .jobs()
            .inNamespace(ns)
            .withName(j.getMetadata().getName())
            .withPropagationPolicy(DeletionPropagation.BACKGROUND)
            .delete();
      }
    }
  }

  private void delete() {
    if (deleted) {
      return;
    }
    deleted = true;
    try {
      // Background propagation: the Job's pod goes with it.
      c.batch()
          .v1()
          .jobs()
          .inNamespace(ns)
          .withName(name)
          .withPropagationPolicy(DeletionPropagation.BACKGROUND)
          .delete();
    } catch (KubernetesClientException e) {
      logs.line("system", "could not delete Job " + name + ": " + reason(e));
    }
  }

  private static String phase(Pod pod) {
    return pod.getStatus() == null || pod.getStatus().getPhase() == null
        ? "Pending"
        : pod.getStatus().getPhase();
  }

  private static ContainerStatus status(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return null;
    }
    return pod.getStatus().getContainerStatuses().stream()
        .filter(s -> Jobs.CONTAINER.equals(s.getName()))
        .findFirst()
        .orElse(null);
  }

  private static String waitingReason(Pod pod) {
    ContainerStatus s = status(pod);
    if (s == null || s.getState() == null || s.getState().getWaiting() == null) {
      return null;
    }
    var w = s.getState().getWaiting();
    return w.getReason() + (w.getMessage() == null ? "" : ": " + w.getMessage());
  }

  private static ContainerStateTerminated terminated(Pod pod) {
    ContainerStatus s = status(pod);
    return s == null || s.getState() == null ? null : s.getState().getTerminated();
  }

  /** The API's own reason (e.g. a quota or RBAC refusal), on one line. */
  static String reason(KubernetesClientException e) {
    if (e.getStatus() != null && e.getStatus().getMessage() != null) {
      return e.getStatus().getMessage()
          + (e.getStatus().getReason() == null ? "" : " (" + e.getStatus().getReason() + ")");
    }
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  private static ExecutionResult failed(String error) {
    return new ExecutionResult(Outcome.FAILED, null, error);
  }
}
