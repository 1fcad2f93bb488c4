package dev.kiln.dsl.model;

import java.util.List;
import java.util.Map;

/**
 * A validated pipeline. {@code steps} and {@code params} keep the file's order. The source text and
 * its version hash travel with the model. {@code steps} also holds the hook steps ({@code
 * on_failure:}, {@code on_success:}) after the others; {@code hooks} says which they are.
 */
public record Pipeline(
    String name,
    String description,
    Map<String, ParamSpec> params,
    List<Trigger> triggers,
    Defaults defaults,
    Map<String, Step> steps,
    Concurrency concurrency,
    Source source,
    Map<String, Hook> hooks) {

  public Pipeline {
    concurrency = concurrency == null ? Concurrency.ALLOW : concurrency;
    hooks = hooks == null ? Map.of() : Map.copyOf(hooks);
  }

  /** A pipeline without hooks. */
  public Pipeline(
      String name,
      String description,
      Map<String, ParamSpec> params,
      List<Trigger> triggers,
      Defaults defaults,
      Map<String, Step> steps,
      Concurrency concurrency,
      Source source) {
    this(name, description, params, triggers, defaults, steps, concurrency, source, Map.of());
  }

  /** The hook kind of a step, or null for an ordinary step. */
  public Hook hook(String stepId) {
    return hooks.get(stepId);
  }

  /** The same pipeline with its source (file, text, version) replaced. */
  public Pipeline withSource(Source other) {
    return new Pipeline(
        name, description, params, triggers, defaults, steps, concurrency, other, hooks);
  }

  public Step step(String id) {
    Step s = steps.get(id);
    if (s == null) {
      throw new IllegalArgumentException("no step '" + id + "' in pipeline " + name);
    }
    return s;
  }
}
