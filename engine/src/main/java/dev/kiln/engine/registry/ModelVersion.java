package dev.kiln.engine.registry;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One registered version of a model with what it was made from. */
public record ModelVersion(
    String name,
    int version,
    String artifactSha256,
    long artifactSize,
    String artifactKind,
    Long runId,
    String stepId,
    String pipeline,
    String pipelineVersion,
    String gitCommit,
    Map<String, Double> metrics,
    Map<String, Object> params,
    Map<String, String> tags,
    String createdBy,
    Instant createdAt) {

  public ModelVersion {
    metrics = Map.copyOf(metrics);
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    tags = Map.copyOf(tags);
  }

  public String ref() {
    return name + "@" + version;
  }
}
