package dev.kiln.engine.run;

import java.util.List;
import java.util.Map;

/** What a worker reports when an attempt ends; imageDigest is the container image's, if any. */
public record Completion(
    Outcome outcome,
    Integer exitCode,
    String error,
    Map<String, String> outputs,
    List<Metric> metrics,
    List<Artifact> artifacts,
    String imageDigest) {

  public Completion(Outcome outcome, Integer exitCode, String error, Map<String, String> outputs,
      List<Metric> metrics, List<Artifact> artifacts) {
    this(outcome, exitCode, error, outputs, metrics, artifacts, null);
  }

  public enum Outcome {
    SUCCEEDED,
    FAILED,
    TIMED_OUT,
    CANCELLED
  }

  /** One {@code key=value} line of KILN_METRICS; a key written again extends a series. */
  public record Metric(String key, double value) {}

  /** An artifact stored content-addressed; kind is "file" or "dir". */
  public record Artifact(String name, String sha256, long size, String kind) {}

  public static Completion failed(String error) {
    return new Completion(Outcome.FAILED, null, error, Map.of(), List.of(), List.of());
  }

  public static Completion cancelled(String why) {
    return new Completion(Outcome.CANCELLED, null, why, Map.of(), List.of(), List.of());
  }
}
