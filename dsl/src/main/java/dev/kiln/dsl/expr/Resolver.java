package dev.kiln.dsl.expr;

import java.util.List;
import java.util.Map;

/** Supplies the value of a reference such as {@code [steps, train, outputs, model]}. */
@FunctionalInterface
public interface Resolver {
  Object resolve(List<String> path) throws EvalException;

  /**
   * A resolver over nested maps: {@code params.data} is {@code values.get("params").get("data")}. A
   * missing key anywhere on the path is an unknown reference; a present key with a null value
   * resolves to null.
   */
  static Resolver of(Map<String, ?> values) {
    return path -> {
      Object current = values;
      for (String segment : path) {
        if (!(current instanceof Map<?, ?> map) || !map.containsKey(segment)) {
          throw EvalException.unknownReference(path);
        }
        current = map.get(segment);
      }
      return current;
    };
  }
}
