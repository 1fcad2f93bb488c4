package dev.kiln.steps.features;

/**
 * Bad definitions or data: the message names the file, the view and the column, and may span
 * several lines (one problem per line). Nothing was written to the store.
 */
public final class FeatureException extends Exception {
  public FeatureException(String message) {
    super(message);
  }

  public FeatureException(String message, Throwable cause) {
    super(message, cause);
  }
}
