package dev.kiln.engine.store;

import java.time.Instant;

/** One line a step printed (stdout, stderr) or the system wrote about it. */
public record LogLine(String stepId, int attempt, String stream, String line, Instant at) {}
