package dev.kiln.dsl.model;

import java.time.Duration;
import java.util.Map;

/** Pipeline-wide step defaults; any field may be null (absent) except env (empty). */
public record Defaults(
    String image, RetryPolicy retries, Duration timeout, String queue, Map<String, String> env) {
  public static final Defaults NONE = new Defaults(null, null, null, null, Map.of());
}
