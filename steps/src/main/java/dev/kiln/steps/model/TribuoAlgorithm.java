package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.steps.With;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The algorithms of {@code train/tribuo} ({@code with.algorithm}), each with the task it learns and
 * the hyper-parameter keys it takes; a key given to an algorithm that does not take it is an error.
 */
enum TribuoAlgorithm {
  LOGISTIC("logistic", Task.CLASSIFY, "epochs", "learning_rate"),
  CART("cart", Task.CLASSIFY, "max_depth", "min_child_weight", "fraction_features"),
  RANDOM_FOREST(
      "random-forest",
      Task.CLASSIFY,
      "trees",
      "max_depth",
      "min_child_weight",
      "fraction_features"),
  XGBOOST(
      "xgboost",
      Task.CLASSIFY,
      "trees",
      "max_depth",
      "learning_rate",
      "min_child_weight",
      "subsample",
      "fraction_features"),
  LINEAR_REGRESSION("linear-regression", Task.REGRESS, "epochs", "learning_rate"),
  CART_REGRESSION(
      "cart-regression", Task.REGRESS, "max_depth", "min_child_weight", "fraction_features"),
  KMEANS("kmeans", Task.CLUSTER, "clusters", "iterations");

  /** What the model predicts: a class of the target, its number, or a cluster. */
  enum Task {
    CLASSIFY,
    REGRESS,
    CLUSTER
  }

  /** The hyper-parameter keys, in the order the docs list them. */
  static final List<WithKey> HYPER_PARAMETERS =
      List.of(
          WithKey.optional(
              "epochs", Type.INTEGER, "logistic, linear-regression: SGD epochs (default 10)"),
          WithKey.optional(
              "learning_rate",
              Type.NUMBER,
              "logistic, linear-regression: AdaGrad's initial rate (default 1.0); xgboost: eta"
                  + " (default 0.3)"),
          WithKey.optional(
              "trees",
              Type.INTEGER,
              "random-forest: trees (default 10); xgboost: boosting rounds (default 50)"),
          WithKey.optional(
              "max_depth",
              Type.INTEGER,
              "cart, random-forest, cart-regression: the deepest a tree grows (default unlimited);"
                  + " xgboost (default 6)"),
          WithKey.optional(
              "min_child_weight",
              Type.NUMBER,
              "the least weight of examples in a leaf (default 5 for cart, random-forest,"
                  + " cart-regression; 1 for xgboost)"),
          WithKey.optional(
              "fraction_features",
              Type.NUMBER,
              "the share of features tried at each split (cart, cart-regression: default 1;"
                  + " random-forest: default 0.5, below 1) or, for xgboost, per tree (default 1)"),
          WithKey.optional(
              "subsample", Type.NUMBER, "xgboost: the share of rows each tree sees (default 1)"),
          WithKey.optional("clusters", Type.INTEGER, "kmeans: how many clusters (default 3)"),
          WithKey.optional(
              "iterations", Type.INTEGER, "kmeans: the most iterations (default 100)"));

  final String key;
  final Task task;
  final List<String> takes;

  TribuoAlgorithm(String key, Task task, String... takes) {
    this.key = key;
    this.task = task;
    this.takes = List.of(takes);
  }

  static String names() {
    return Arrays.stream(values()).map(a -> a.key).collect(Collectors.joining(", "));
  }

  static TribuoAlgorithm of(With in) throws With.BadInput {
    String name = in.string("algorithm", LOGISTIC.key);
    for (TribuoAlgorithm a : values()) {
      if (a.key.equals(name)) {
        return a;
      }
    }
    throw in.bad("algorithm", "'" + name + "' is not one of " + names());
  }

  /** Refuses a hyper-parameter this algorithm does not take. */
  void check(Map<String, Object> with) throws With.BadInput {
    for (WithKey k : HYPER_PARAMETERS) {
      if (with.containsKey(k.name()) && !takes.contains(k.name())) {
        throw new With.BadInput(
            TribuoData.NAME
                + ": with."
                + k.name()
                + ": not a hyper-parameter of algorithm '"
                + key
                + "'"
                + (takes.isEmpty() ? "" : " (it takes: " + String.join(", ", takes) + ")"));
      }
    }
  }
}
