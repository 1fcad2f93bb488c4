package dev.kiln.workers.builtin;

import dev.kiln.engine.registry.DatasetVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** CSV and Parquet read through DuckDB (an in-memory database per use). */
final class Tables implements AutoCloseable {
  enum Format {
    CSV,
    CSV_GZIP,
    PARQUET
  }

  private final Connection conn;

  private Tables(Connection conn) {
    this.conn = conn;
  }

  static Tables open() throws SQLException {
    try {
      Class.forName("org.duckdb.DuckDBDriver");
    } catch (ClassNotFoundException e) {
      throw new SQLException("the DuckDB JDBC driver is not on the class path", e);
    }
    return new Tables(DriverManager.getConnection("jdbc:duckdb:"));
  }

  /** The format by the file's name; null when it is not a table we read. */
  static Format formatOf(Path file) {
    String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (n.endsWith(".csv.gz") || n.endsWith(".tsv.gz")) {
      return Format.CSV_GZIP;
    }
    if (n.endsWith(".csv") || n.endsWith(".tsv")) {
      return Format.CSV;
    }
    if (n.endsWith(".parquet") || n.endsWith(".pq")) {
      return Format.PARQUET;
    }
    return null;
  }

  /**
   * A FROM clause reading the file; the path is quoted as a SQL string literal. The format is
   * given, not detected from the name: stored copies are named by their hash.
   */
  static String source(Path file, Format format) {
    String lit = "'" + file.toAbsolutePath().toString().replace("'", "''") + "'";
    return switch (format) {
      case PARQUET -> "read_parquet(" + lit + ")";
      case CSV_GZIP ->
          "read_csv(" + lit + ", header = true, auto_detect = true, compression = 'gzip')";
      case CSV -> "read_csv(" + lit + ", header = true, auto_detect = true)";
    };
  }

  long rows(String source) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from " + source)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  List<DatasetVersion.Column> schema(String source) throws SQLException {
    List<DatasetVersion.Column> out = new ArrayList<>();
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("describe select * from " + source)) {
      while (rs.next()) {
        out.add(
            new DatasetVersion.Column(rs.getString("column_name"), rs.getString("column_type")));
      }
    }
    return out;
  }

  Connection connection() {
    return conn;
  }

  static boolean isFile(Path p) {
    return Files.isRegularFile(p);
  }

  /** Quotes an identifier (a column name from the user) for DuckDB. */
  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  @Override
  public void close() throws SQLException {
    conn.close();
  }
}
