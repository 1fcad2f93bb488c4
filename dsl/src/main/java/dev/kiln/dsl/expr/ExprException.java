package dev.kiln.dsl.expr;

/**
 * A malformed {@code ${{ }}} expression; {@link #column()} is the 0-based offset in the source
 * text.
 */
public final class ExprException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int column;

  public ExprException(String message, int column) {
    super(message);
    this.column = column;
  }

  public int column() {
    return column;
  }
}
