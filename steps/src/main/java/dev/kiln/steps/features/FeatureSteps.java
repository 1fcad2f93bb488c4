package dev.kiln.steps.features;

import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What the feature store's built-in steps share: reading {@code with:} and answering. */
final class FeatureSteps {
  private FeatureSteps() {}

  static String string(String step, Map<String, Object> with, String field, String fallback)
      throws FeatureException {
    Object v = with == null ? null : with.get(field);
    if (v == null || String.valueOf(v).isBlank()) {
      if (fallback == null) {
        throw new FeatureException(step + ": with." + field + ": required");
      }
      return fallback;
    }
    return String.valueOf(v).trim();
  }

  static double number(String step, Map<String, Object> with, String field, double fallback)
      throws FeatureException {
    String s = string(step, with, field, String.valueOf(fallback));
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new FeatureException(step + ": with." + field + ": '" + s + "' is not a number");
    }
  }

  /** A YAML list or a comma-separated string. */
  static List<String> list(Map<String, Object> with, String field) {
    Object v = with == null ? null : with.get(field);
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      l.forEach(x -> out.add(String.valueOf(x).trim()));
    } else if (v != null) {
      for (String s : String.valueOf(v).split(",")) {
        if (!s.isBlank()) {
          out.add(s.trim());
        }
      }
    }
    return out;
  }

  static Completion succeeded(Map<String, String> outputs, List<Completion.Metric> metrics) {
    return new Completion(Completion.Outcome.SUCCEEDED, null, null, outputs, metrics, List.of());
  }

  static void log(BuiltinStep.Context ctx, String line) {
    ctx.logs().line("system", line);
  }
}
