package dev.kiln.dsl.model;

import java.util.List;
import java.util.Map;

/**
 * A validated pipeline. {@code steps} and {@code params} keep the file's order. The source text and
 * its version hash travel with the model.
 */
public record Pipeline(
    String name,
    String description,
    Map<String, ParamSpec> params,
    List<Trigger> triggers,
    Defaults defaults,
    Map<String, Step> steps,
    Concurrency concurrency,
    Source source) {

  public Pipeline {
    concurrency = concurrency == null ? Concurrency.ALLOW : concurrency;
  }

  /** The same pipeline with its source (file, text, version) replaced. */
  public Pipeline withSource(Source other) {
    return new Pipeline(name, description, params, triggers, defaults, steps, concurrency, other);
  }

  public Step step(String id) {
    Step s = steps.get(id);
    if (s == null) {
      throw new IllegalArgumentException("no step '" + id + "' in pipeline " + name);
    }
    return s;
  }
}
