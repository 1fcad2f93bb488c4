package dev.kiln.steps.table;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import org.duckdb.DuckDBDriver;

/**
 * Opens DuckDB through its driver class rather than {@link java.sql.DriverManager}: kiln.jar leaves
 * DuckDB out of the JDBC driver services, so the many commands that never read a table (and every
 * one opens PostgreSQL through DriverManager) do not start DuckDB's driver and its memory monitor.
 */
public final class DuckDb {
  private DuckDb() {}

  /** A new in-memory database. */
  public static Connection open() throws SQLException {
    return new DuckDBDriver().connect("jdbc:duckdb:", new Properties());
  }

  /**
   * A new in-memory database whose query results stream: DuckDB produces the rows as they are
   * fetched instead of materializing the whole result first (for a 1,000,000 x 20 scan, 150 MB of
   * native memory fewer). A second query on the connection closes a result still being read, so
   * this suits one pass over a file; an error part-way through the file is still thrown by {@code
   * next()}.
   */
  static Connection openStreaming() throws SQLException {
    Properties p = new Properties();
    p.setProperty(DuckDBDriver.JDBC_STREAM_RESULTS, "true");
    return new DuckDBDriver().connect("jdbc:duckdb:", p);
  }
}
