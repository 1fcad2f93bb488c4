package dev.kiln.engine.store;

import dev.kiln.engine.task.TaskSpec;

/**
 * A task a worker holds a lease on. {@code (id, attempt, worker)} fences every later write: a
 * worker whose lease expired and was claimed again cannot record a result.
 */
public record ClaimedTask(
    long id, long runId, String stepId, int attempt, String worker, TaskSpec spec) {}
