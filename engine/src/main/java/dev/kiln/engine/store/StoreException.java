package dev.kiln.engine.store;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;

/** A failure talking to the state store (not a user error). */
public final class StoreException extends RuntimeException {
  public StoreException(SQLException cause) {
    super(cause.getMessage(), cause);
  }

  public StoreException(String message) {
    super(message);
  }

  /**
   * Whether trying again later may succeed: the store was unreachable, restarting, out of
   * connections, or the transaction lost a serialization race. A constraint or data error is not.
   */
  public boolean isTransient() {
    for (Throwable t = getCause(); t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
        return true;
      }
      if (t instanceof SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        if (state.startsWith("08")
            || state.startsWith("57P")
            || state.startsWith("53")
            || state.equals("40001")
            || state.equals("40P01")) {
          return true;
        }
      }
      if (t instanceof IOException) {
        return true;
      }
    }
    return false;
  }
}
