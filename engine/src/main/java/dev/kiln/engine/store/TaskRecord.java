package dev.kiln.engine.store;

import dev.kiln.engine.task.StepStatus;
import java.time.Instant;
import java.util.Map;

/**
 * One step of a run as stored: its latest attempt's state and, when finished, its result. {@code
 * reusedFrom} is the task whose result it took (kiln retry, or a cache hit: {@code cached}).
 */
public record TaskRecord(
    long id,
    long runId,
    String stepId,
    StepStatus status,
    String queue,
    int attempt,
    int maxAttempts,
    String worker,
    Map<String, String> outputs,
    Integer exitCode,
    String error,
    Long reusedFrom,
    Instant createdAt,
    Instant startedAt,
    Instant finishedAt,
    boolean cached) {}
