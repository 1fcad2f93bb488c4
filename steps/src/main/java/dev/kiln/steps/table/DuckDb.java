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
}
