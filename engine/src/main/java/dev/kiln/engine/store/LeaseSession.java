package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lease renewals on a connection of their own, outside the pool: API requests, triggers or a burst
 * of log writes can take every pooled connection, and a heartbeat that waits for one loses its
 * lease. The connection is opened on first use and opened again after any failure (the store
 * restarted), with a short timeout so a dead store is noticed within the heartbeat period. One
 * thread uses it at a time.
 */
public final class LeaseSession implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseSession.class);
  private final Database db;
  private final Duration timeout;
  private Connection connection;

  public LeaseSession(Database db, Duration timeout) {
    this.db = db;
    this.timeout = timeout;
  }

  /** {@link TaskQueue#heartbeat}, on this session's connection. */
  public synchronized Optional<Boolean> heartbeat(ClaimedTask t, Duration lease) {
    try {
      if (connection == null || connection.isClosed()) {
        connection = db.dedicatedConnection(timeout);
        connection.setAutoCommit(true);
      }
      return TaskQueue.heartbeat(connection, t, lease);
    } catch (SQLException e) {
      closeConnection();
      throw new StoreException(e);
    }
  }

  private void closeConnection() {
    if (connection == null) {
      return;
    }
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("closing a broken lease connection: {}", e.getMessage());
    }
    connection = null;
  }

  @Override
  public synchronized void close() {
    closeConnection();
  }
}
