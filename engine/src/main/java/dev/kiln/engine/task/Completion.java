package dev.kiln.engine.task;

import java.util.List;
import java.util.Map;

/**
 * What a worker reports when an attempt ends; imageDigest is the container image's, if any.
 * cacheKey is the step's input key when it has {@code cache: true} (recorded only on success);
 * cachedFrom is the earlier task whose result this is, when the step did not run (a cache hit).
 */
public record Completion(
    Outcome outcome,
    Integer exitCode,
    String error,
    Map<String, String> outputs,
    List<Metric> metrics,
    List<Artifact> artifacts,
    String imageDigest,
    String cacheKey,
    CachedFrom cachedFrom) {

  public Completion(
      Outcome outcome,
      Integer exitCode,
      String error,
      Map<String, String> outputs,
      List<Metric> metrics,
      List<Artifact> artifacts,
      String imageDigest) {
    this(outcome, exitCode, error, outputs, metrics, artifacts, imageDigest, null, null);
  }

  public Completion(
      Outcome outcome,
      Integer exitCode,
      String error,
      Map<String, String> outputs,
      List<Metric> metrics,
      List<Artifact> artifacts) {
    this(outcome, exitCode, error, outputs, metrics, artifacts, null);
  }

  public enum Outcome {
    SUCCEEDED,
    FAILED,
    /**
     * failed in a way retrying cannot fix (an unknown built-in, a missing file, bad {@code with:}):
     * settled failed at once, without spending the step's retries
     */
    INVALID,
    TIMED_OUT,
    CANCELLED
  }

  /** The task a cached result comes from. */
  public record CachedFrom(long taskId, long runId, String stepId) {
    /** How the event of a hit begins, so progress can show it as cached. */
    public static final String PREFIX = "cached: ";

    /** The line the run's events and the step's log show for a hit. */
    public String describe() {
      return PREFIX + "result of run " + runId + " step " + stepId;
    }
  }

  public Completion withCacheKey(String key) {
    return new Completion(
        outcome, exitCode, error, outputs, metrics, artifacts, imageDigest, key, cachedFrom);
  }

  /** One {@code key=value} line of KILN_METRICS; a key written again extends a series. */
  public record Metric(String key, double value) {}

  /** An artifact stored content-addressed; kind is "file" or "dir". */
  public record Artifact(String name, String sha256, long size, String kind) {}

  public static Completion failed(String error) {
    return new Completion(Outcome.FAILED, null, error, Map.of(), List.of(), List.of());
  }

  /** A failure retrying cannot fix: the step fails at once, its retries unspent. */
  public static Completion invalid(String error) {
    return new Completion(Outcome.INVALID, null, error, Map.of(), List.of(), List.of());
  }

  public static Completion cancelled(String why) {
    return new Completion(Outcome.CANCELLED, null, why, Map.of(), List.of(), List.of());
  }
}
