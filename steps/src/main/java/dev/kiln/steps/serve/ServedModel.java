package dev.kiln.steps.serve;

import java.util.List;
import java.util.Map;

/** A loaded model of some flavour, ready to predict rows that fit its signature. */
interface ServedModel {
  String flavour();

  Signature signature();

  /**
   * Predictions for rows already checked against the signature.
   *
   * @return probabilities is null when the model has none (one map of label to probability per row
   *     otherwise)
   */
  Result predict(List<Map<String, Object>> rows);

  record Result(List<Object> predictions, List<Map<String, Double>> probabilities) {}
}
