package dev.kiln.engine.registry;

import java.time.Instant;
import java.util.List;

/**
 * One version of a data set: its content's sha256 in the artifact store and what was inferred from
 * it. rows is null when the content is not a table DuckDB reads (CSV, Parquet).
 */
public record DatasetVersion(
    String name,
    int version,
    String sha256,
    long size,
    String kind,
    Long rows,
    List<Column> schema,
    String sourcePath,
    Long runId,
    String stepId,
    Instant createdAt) {

  public DatasetVersion {
    schema = List.copyOf(schema);
  }

  public record Column(String name, String type) {}

  public String ref() {
    return name + "@" + version;
  }
}
