package dev.kiln.engine.store;

import java.time.Instant;

/** A status change of a run (stepId null) or of one of its steps. */
public record RunEvent(
    long id, long runId, String stepId, String status, String detail, Instant at) {}
