package dev.kiln.workers.data;

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
import java.util.Optional;

/**
 * A CSV or Parquet file loaded into an in-memory DuckDB table {@code data}, with a 1-based row
 * number column {@code __row}. DuckDB detects the CSV dialect and the column types.
 */
public final class Dataset implements AutoCloseable {
  /** A column of the file, with the type DuckDB found and its kind. */
  public record Column(String name, String duckType, ColumnKind kind) {}

  private final Path file;
  private final Connection conn;
  private final List<Column> columns;
  private final long rows;

  private Dataset(Path file, Connection conn, List<Column> columns, long rows) {
    this.file = file;
    this.conn = conn;
    this.columns = columns;
    this.rows = rows;
  }

  /** Loads a file; .parquet/.pq are read as Parquet, everything else as CSV with a header. */
  public static Dataset open(Path file) throws DataException {
    if (!Files.isRegularFile(file)) {
      throw new DataException(file + ": no such file");
    }
    Connection conn = null;
    try {
      conn = DriverManager.getConnection("jdbc:duckdb:");
      loadInto(conn, file, "data");
      return new Dataset(file, conn, describe(conn, "data"), count(conn, "data"));
    } catch (SQLException e) {
      closeQuietly(conn, e);
      String ragged = RaggedRows.find(file);
      throw new DataException(file + ": cannot read: "
          + (ragged != null ? ragged : firstLine(e.getMessage())), e);
    }
  }

  /**
   * Loads another file into this connection as table {@code table} (a fixed name chosen by the
   * caller, not user text), so that it can be joined with {@code data}. Returns its columns.
   */
  public List<Column> load(Path other, String table) throws DataException {
    if (!Files.isRegularFile(other)) {
      throw new DataException(other + ": no such file");
    }
    try {
      loadInto(conn, other, table);
      if (count(conn, table) == 0) {
        throw new DataException(other + ": the data set has no rows");
      }
      return describe(conn, table);
    } catch (SQLException e) {
      String ragged = RaggedRows.find(other);
      throw new DataException(other + ": cannot read: "
          + (ragged != null ? ragged : firstLine(e.getMessage())), e);
    }
  }

  private static void loadInto(Connection conn, Path file, String table) throws SQLException {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    String literal = "'" + file.toAbsolutePath().toString().replace("'", "''") + "'";
    String source = name.endsWith(".parquet") || name.endsWith(".pq")
        ? "read_parquet(" + literal + ")"
        : "read_csv(" + literal + ", header = true, delim = '" + (name.endsWith(".tsv") ? "\t" : ",")
            + "')";
    try (Statement st = conn.createStatement()) {
      st.execute("create table " + table + " as select row_number() over () as __row, * from "
          + source);
    }
  }

  private static List<Column> describe(Connection conn, String table) throws SQLException {
    List<Column> cols = new ArrayList<>();
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("describe " + table)) {
      while (rs.next()) {
        String col = rs.getString(1);
        if (!col.equals("__row")) {
          cols.add(new Column(col, rs.getString(2), ColumnKind.ofDuckType(rs.getString(2))));
        }
      }
    }
    return List.copyOf(cols);
  }

  private static long count(Connection conn, String table) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  public Path file() {
    return file;
  }

  public List<Column> columns() {
    return columns;
  }

  public Optional<Column> column(String name) {
    return columns.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  public long rows() {
    return rows;
  }

  /** The DuckDB connection holding table {@code data}; not thread-safe. */
  public Connection connection() {
    return conn;
  }

  /** The non-null values of a numeric column; a value that is not a number is an error. */
  public double[] numbers(String column) throws DataException {
    String q = quote(column);
    String sql = "select try_cast(" + q + " as double), " + q + ", __row from data where " + q
        + " is not null";
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      double[] out = new double[(int) rows];
      int n = 0;
      while (rs.next()) {
        double v = rs.getDouble(1);
        if (rs.wasNull()) {
          throw new DataException(file + ": column '" + column + "', row " + rs.getLong(3)
              + ": '" + rs.getString(2) + "' is not a number");
        }
        out[n++] = v;
      }
      return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    } catch (SQLException e) {
      throw new DataException(file + ": column '" + column + "': " + firstLine(e.getMessage()), e);
    }
  }

  /** The non-null values of a column as text. */
  public List<String> texts(String column) throws DataException {
    String q = quote(column);
    String sql = "select cast(" + q + " as varchar) from data where " + q + " is not null";
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    } catch (SQLException e) {
      throw new DataException(file + ": column '" + column + "': " + firstLine(e.getMessage()), e);
    }
  }

  /** A column name as a SQL identifier; names come from the file itself, quotes are doubled. */
  public static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    String m = message.strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl).strip();
  }

  private static void closeQuietly(Connection c, Exception cause) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        cause.addSuppressed(e);
      }
    }
  }

  @Override
  public void close() {
    try {
      conn.close();
    } catch (SQLException e) {
      // Nothing is lost: the table is in memory and dies with the connection.
    }
  }
}
