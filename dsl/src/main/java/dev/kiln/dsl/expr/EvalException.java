package dev.kiln.dsl.expr;

import java.util.List;

/** An expression could not be evaluated, most often because a reference does not resolve. */
public final class EvalException extends Exception {
  private static final long serialVersionUID = 1L;

  public EvalException(String message) {
    super(message);
  }

  /**
   * The standard message for a path the resolver does not know: {@code unknown reference 'a.b'}.
   */
  public static EvalException unknownReference(List<String> path) {
    return new EvalException("unknown reference '" + String.join(".", path) + "'");
  }
}
