package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A session that LISTENs on notification channels ({@code kiln_events}, {@code kiln_tasks}, ...),
 * on a connection of its own outside the pool: LISTEN must stay on one session for its lifetime.
 */
public final class Listener implements AutoCloseable {
  private final Connection connection;
  private final PGConnection pg;

  private Listener(Connection connection) throws SQLException {
    this.connection = connection;
    this.pg = connection.unwrap(PGConnection.class);
  }

  /** Listens on {@code channels} (fixed names of Kiln's, never user text). */
  public static Listener open(Database db, String... channels) {
    Connection c = null;
    try {
      c = db.dedicatedConnection();
      try (Statement st = c.createStatement()) {
        for (String channel : channels) {
          st.execute("LISTEN " + channel);
        }
      }
      return new Listener(c);
    } catch (SQLException e) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException closing) {
          e.addSuppressed(closing);
        }
      }
      throw new StoreException(e);
    }
  }

  /** Waits up to {@code millis} for notifications; returns those that arrived (maybe none). */
  public PGNotification[] await(int millis) {
    try {
      PGNotification[] n = pg.getNotifications(millis);
      return n == null ? new PGNotification[0] : n;
    } catch (SQLException e) {
      throw new StoreException(e);
    }
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      throw new StoreException(e);
    }
  }
}
