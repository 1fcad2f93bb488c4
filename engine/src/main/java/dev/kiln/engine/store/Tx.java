package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Runs work in one transaction: commit on return, roll back on any exception. */
public final class Tx {
  private final DataSource ds;

  Tx(DataSource ds) {
    this.ds = ds;
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
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try {
        T result = work.apply(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        rollbackQuietly(c, e);
        throw e;
      } catch (Error e) {
        rollbackQuietly(c, e);
        throw e;
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
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(true);
      return work.apply(c);
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

  private static void rollbackQuietly(Connection c, Throwable cause) {
    try {
      c.rollback();
    } catch (SQLException r) {
      cause.addSuppressed(r);
    }
  }
}
