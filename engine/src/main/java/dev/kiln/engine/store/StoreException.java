package dev.kiln.engine.store;

import java.sql.SQLException;

/** A failure talking to the state store (not a user error). */
public final class StoreException extends RuntimeException {
  public StoreException(SQLException cause) {
    super(cause.getMessage(), cause);
  }

  public StoreException(String message) {
    super(message);
  }
}
