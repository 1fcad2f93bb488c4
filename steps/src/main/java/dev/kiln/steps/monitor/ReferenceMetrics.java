package dev.kiln.steps.monitor;

import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Where metrics/check finds the value a metric should hold. Today the values come from the step's
 * {@code with.reference}; the model registry can add a source (the metrics registered with the
 * model under an alias) by registering an implementation with ServiceLoader.
 */
public interface ReferenceMetrics {
  /** The reference value of {@code metric} for {@code model} under {@code alias}, if known. */
  Optional<Double> value(String model, String alias, String metric);

  /** Values given in the step: {@code reference: {accuracy: 0.93}}. */
  static ReferenceMetrics given(Map<String, Double> values) {
    return (model, alias, metric) -> Optional.ofNullable(values.get(metric));
  }

  /** The given values first, then every registered source in turn. */
  static ReferenceMetrics lookup(Map<String, Double> given) {
    ReferenceMetrics first = given(given);
    return (model, alias, metric) -> {
      Optional<Double> v = first.value(model, alias, metric);
      if (v.isPresent() || model == null) {
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
