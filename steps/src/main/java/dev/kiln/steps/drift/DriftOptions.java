package dev.kiln.steps.drift;

import java.util.List;

/**
 * What to compare and how.
 *
 * @param columns the columns to check, or empty for every column the two data sets share
 * @param threshold the drift threshold for every column, or null for each method's default
 */
record DriftOptions(
    Method method, List<String> columns, int bins, Double threshold, double driftShare) {
  public static final int DEFAULT_BINS = 10;
  public static final double DEFAULT_DRIFT_SHARE = 0.5;

  public DriftOptions {
    columns = List.copyOf(columns);
    if (bins < 1) {
      throw new IllegalArgumentException("--bins must be at least 1, got " + bins);
    }
    if (threshold != null && !(threshold >= 0)) {
      throw new IllegalArgumentException("--threshold must be a number >= 0, got " + threshold);
    }
    if (!(driftShare >= 0 && driftShare <= 1)) {
      throw new IllegalArgumentException("--drift-share must be within [0, 1], got " + driftShare);
    }
  }

  public static DriftOptions defaults() {
    return new DriftOptions(Method.AUTO, List.of(), DEFAULT_BINS, null, DEFAULT_DRIFT_SHARE);
  }
}
