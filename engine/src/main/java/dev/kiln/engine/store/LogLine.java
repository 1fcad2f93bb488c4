package dev.kiln.engine.store;

import java.time.Instant;

/**
 * One line a step printed (stdout, stderr) or the system wrote about it; {@code id} orders the
 * lines of a run and lets a reader continue after the last one it saw.
 */
public record LogLine(
    String stepId, int attempt, String stream, String line, Instant at, long id) {}
