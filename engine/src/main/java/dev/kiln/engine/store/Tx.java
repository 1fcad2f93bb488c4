package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Runs work in one transaction: commit on return, roll back on any exception. Over a pool, each
 * transaction borrows a connection; over the one connection of a command's store ({@link
 * Database#openForCommand}) each uses that one, and a transaction begun inside another fails loudly
 * instead of committing the outer one's work early.
 */
public final class Tx {
  private final DataSource ds;
  private final Connection kept;

  /** Sends the transaction's wake-ups after its commit; null: they are sent inline. */
  private final Wakeups wakeups;

  Tx(DataSource ds, Wakeups wakeups) {
    this.ds = ds;
    this.kept = null;
    this.wakeups = wakeups;
  }

  Tx(Connection kept) {
    this.ds = null;
    this.kept = kept;
    this.wakeups = null;
  }

  @FunctionalInterface
  public interface Work<T> {
    T apply(Connection c) throws SQLException;
  }

  @FunctionalInterface
  public interface VoidWork {
    void apply(Connection c) throws SQLException;
  }

  public <T> T inTransaction(Work<T> work) {
    try {
      Connection c = borrow();
      Throwable failed = null;
      boolean committed = false;
      if (wakeups != null) {
        wakeups.begin(c);
      }
      try {
        c.setAutoCommit(false);
        T result = work.apply(c);
        c.commit();
        committed = true;
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        failed = e;
        rollbackQuietly(c, e);
        throw e;
      } finally {
        if (wakeups != null) {
          wakeups.done(committed);
        }
        giveBack(c, failed);
      }
    } catch (SQLException e) {
      throw new StoreException(e);
    }
  }

  /**
   * Runs a single statement's work without BEGIN/COMMIT round trips: a single statement is atomic
   * on its own. Use only for work of exactly one statement.
   */
  public <T> T autocommit(Work<T> work) {
    try {
      Connection c = borrow();
      Throwable failed = null;
      if (wakeups != null) {
        wakeups.begin(c);
      }
      try {
        c.setAutoCommit(true);
        return work.apply(c);
      } catch (SQLException | RuntimeException | Error e) {
        failed = e;
        throw e;
      } finally {
        if (wakeups != null) {
          wakeups.done(true); // what the statements did is committed, a failure or not
        }
        giveBack(c, failed);
      }
    } catch (SQLException e) {
      throw new StoreException(e);
    }
  }

  public void run(VoidWork work) {
    inTransaction(
        c -> {
          work.apply(c);
          return null;
        });
  }

  /** A pooled connection, or the kept one (outside any transaction: autocommit on). */
  private Connection borrow() throws SQLException {
    if (kept == null) {
      return ds.getConnection();
    }
    if (!kept.getAutoCommit()) {
      throw new IllegalStateException(
          "a transaction inside another on a command's one-connection store");
    }
    return kept;
  }

  /** Closes a pooled connection (back to the pool); leaves the kept one open, autocommit on. */
  private void giveBack(Connection c, Throwable failed) throws SQLException {
    try {
      if (kept == null) {
        c.close();
      } else if (!c.isClosed()) {
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      if (failed == null) {
        throw e;
      }
      failed.addSuppressed(e);
    }
  }

  private static void rollbackQuietly(Connection c, Throwable cause) {
    try {
      c.rollback();
    } catch (SQLException r) {
      cause.addSuppressed(r);
    }
  }
}
