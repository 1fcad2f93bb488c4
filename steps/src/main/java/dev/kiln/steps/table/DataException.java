package dev.kiln.steps.table;

/** A problem with a data set or a schema the user gave: one line, naming the file and column. */
public final class DataException extends Exception {
  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}
