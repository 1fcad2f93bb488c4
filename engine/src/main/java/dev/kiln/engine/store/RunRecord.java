package dev.kiln.engine.store;

import dev.kiln.engine.task.RunStatus;
import java.time.Instant;
import java.util.Map;

/** A run as stored. */
public record RunRecord(
    long id,
    String pipeline,
    String pipelineVersion,
    Map<String, Object> params,
    String trigger,
    String baseDir,
    RunStatus status,
    Long retryOf,
    Instant createdAt,
    Instant startedAt,
    Instant finishedAt,
    Map<String, String> tags) {}
