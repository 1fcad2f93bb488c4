package dev.kiln.steps.monitor;

import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where metrics/check finds the value a metric should hold: the step's {@code with.reference}
 * first, then the metrics registered with the version the model's alias points at, then any source
 * registered with ServiceLoader.
 */
public interface ReferenceMetrics {
  /** The reference value of {@code metric} for {@code model} under {@code alias}, if known. */
  Optional<Double> value(String model, String alias, String metric);

  /** Values given in the step: {@code reference: {accuracy: 0.93}}. */
  static ReferenceMetrics given(Map<String, Double> values) {
    return (model, alias, metric) -> Optional.ofNullable(values.get(metric));
  }

  /** The metrics registered with the version under the alias (read once). */
  static ReferenceMetrics registry(ModelRegistry models) {
    Map<String, Optional<ModelVersion>> seen = new ConcurrentHashMap<>();
    return (model, alias, metric) ->
        seen.computeIfAbsent(model + "@" + alias, k -> models.lookup(model, alias))
            .map(v -> v.metrics().get(metric));
  }

  /** The given values first, then the registry, then every registered source in turn. */
  static ReferenceMetrics lookup(Map<String, Double> given, ModelRegistry models) {
    ReferenceMetrics first = given(given);
    ReferenceMetrics registered = registry(models);
    return (model, alias, metric) -> {
      Optional<Double> v = first.value(model, alias, metric);
      if (v.isPresent() || model == null) {
        return v;
      }
      v = registered.value(model, alias, metric);
      if (v.isPresent()) {
        return v;
      }
      for (ReferenceMetrics r : ServiceLoader.load(ReferenceMetrics.class)) {
        v = r.value(model, alias, metric);
        if (v.isPresent()) {
          return v;
        }
      }
      return Optional.empty();
    };
  }
}
