package dev.kiln.dsl.model;

import java.time.Duration;

/**
 * How often a failed step is tried again: {@code max} retries after the first attempt, waiting
 * {@code backoff * 2^(retry-1)} before each, capped at {@link #MAX_DELAY}.
 */
public record RetryPolicy(int max, Duration backoff) {
  public static final RetryPolicy NONE = new RetryPolicy(0, Duration.ofSeconds(5));
  public static final Duration MAX_DELAY = Duration.ofMinutes(10);
}
