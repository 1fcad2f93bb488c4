package dev.kiln.steps.drift;

import java.util.List;

/**
 * The result for one column. {@code error} is set (and the numbers are null) when the column could
 * not be compared; {@code plot} holds the two distributions for the HTML report.
 */
record ColumnDrift(
    String column,
    String type,
    String method,
    Double statistic,
    Double pValue,
    Double threshold,
    boolean drifted,
    String error,
    Plot plot) {

  /** Shares of the reference and current data per bin (or category), for drawing. */
  public record Plot(List<String> labels, double[] reference, double[] current) {}

  static ColumnDrift error(String column, String type, String message) {
    return new ColumnDrift(column, type, null, null, null, null, false, message, null);
  }
}
