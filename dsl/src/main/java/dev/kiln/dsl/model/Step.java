package dev.kiln.dsl.model;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One step as written. Optional fields are null when absent (the engine applies {@link Defaults});
 * collections are never null. {@code condition} is the raw {@code if:} text. {@code user}, {@code
 * network} and {@code capabilities} apply to container steps (the container's user; its network
 * mode; the Linux capabilities it keeps, all others dropped). {@code executor} is the executor a
 * {@code run} step requires ({@code docker}, {@code process}, {@code kubernetes}), or null when any
 * worker may run it its own way.
 */
public record Step(
    String id,
    List<String> needs,
    Action action,
    String condition,
    String image,
    RetryPolicy retries,
    Duration timeout,
    boolean continueOnError,
    Map<String, List<Object>> matrix,
    boolean cache,
    String queue,
    Map<String, String> env,
    Resources resources,
    String user,
    String network,
    List<String> capabilities,
    String executor,
    Location location) {

  public Step {
    needs = List.copyOf(needs);
    capabilities = List.copyOf(capabilities);
    // Unmodifiable copies that keep the file's order: matrix combinations and env are listed in
    // the order they were written.
    matrix = Collections.unmodifiableMap(new LinkedHashMap<>(matrix));
    env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
  }

  public RetryPolicy retriesOr(Defaults d) {
    return retries != null ? retries : d.retries() != null ? d.retries() : RetryPolicy.NONE;
  }

  public Duration timeoutOr(Defaults d) {
    return timeout != null ? timeout : d.timeout();
  }

  public String imageOr(Defaults d) {
    return image != null ? image : d.image();
  }

  /** The defaults' env with this step's variables on top. */
  public Map<String, String> envOr(Defaults d) {
    if (d.env().isEmpty()) {
      return env;
    }
    Map<String, String> merged = new LinkedHashMap<>(d.env());
    merged.putAll(env);
    return Collections.unmodifiableMap(merged);
  }

  /** The executors a step may require, as workers name them ({@code kiln worker --executor}). */
  public static final List<String> EXECUTORS = List.of("docker", "process", "kubernetes");

  public String queueOr(Defaults d) {
    return queue != null ? queue : d.queue() != null ? d.queue() : "default";
  }
}
