package dev.kiln.workers.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
  private long rows;

  private Dataset(Path file, Connection conn, List<Column> columns, long rows) {
    this.file = file;
    this.conn = conn;
    this.columns = columns;
    this.rows = rows;
  }

  /** Loads a file; .parquet/.pq are read as Parquet, everything else as CSV with a header. */
  public static Dataset open(Path file) throws DataException {
    return open(file, true);
  }

  /**
   * Loads a file; without row numbers ({@code __row}) DuckDB need not keep the file's order, which
   * makes loading large files faster.
   */
  public static Dataset open(Path file, boolean rowNumbers) throws DataException {
    if (!Files.isRegularFile(file)) {
      throw new DataException(file + ": no such file");
    }
    Connection conn = null;
    try {
      conn = DriverManager.getConnection("jdbc:duckdb:");
      if (rowNumbers) {
        loadInto(conn, file, "data", true);
        return new Dataset(file, conn, describe(conn, "data"), count(conn, "data"));
      }
      try (Statement st = conn.createStatement()) {
        st.execute("create view data as select * from " + source(file));
      }
      return new Dataset(file, conn, describe(conn, "data"), -1);
    } catch (SQLException e) {
      closeQuietly(conn, e);
      String ragged = RaggedRows.find(file);
      throw new DataException(
          file + ": cannot read: " + (ragged != null ? ragged : firstLine(e.getMessage())), e);
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
      loadInto(conn, other, table, true);
      if (count(conn, table) == 0) {
        throw new DataException(other + ": the data set has no rows");
      }
      return describe(conn, table);
    } catch (SQLException e) {
      String ragged = RaggedRows.find(other);
      throw new DataException(
          other + ": cannot read: " + (ragged != null ? ragged : firstLine(e.getMessage())), e);
    }
  }

  private static void loadInto(Connection conn, Path file, String table, boolean rowNumbers)
      throws SQLException {
    try (Statement st = conn.createStatement()) {
      st.execute(
          "create table "
              + table
              + " as select "
              + (rowNumbers ? "row_number() over () as __row, " : "")
              + "* from "
              + source(file));
    }
  }

  private static String source(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    String literal = "'" + file.toAbsolutePath().toString().replace("'", "''") + "'";
    return name.endsWith(".parquet") || name.endsWith(".pq")
        ? "read_parquet(" + literal + ")"
        : "read_csv("
            + literal
            + ", header = true, delim = '"
            + (name.endsWith(".tsv") ? "\t" : ",")
            + "')";
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

  /** The number of rows; for a data set opened without row numbers this may scan the file. */
  public long rows() throws DataException {
    if (rows < 0) {
      try {
        rows = count(conn, "data");
      } catch (SQLException e) {
        throw new DataException(file + ": cannot read: " + firstLine(e.getMessage()), e);
      }
    }
    return rows;
  }

  /** The DuckDB connection holding table {@code data}; not thread-safe. */
  public Connection connection() {
    return conn;
  }

  /** What one {@link #scan} read: the row count and the non-null values of each column. */
  public record Columns(
      long rows, Map<String, double[]> numbers, Map<String, List<String>> texts) {}

  /**
   * Reads the non-null values of numeric columns (DuckDB numeric types) and of text columns in one
   * pass over the data, streamed: the file is parsed once and never held as a table.
   */
  public Columns scan(List<String> numeric, List<String> text) throws DataException {
    int k = numeric.size();
    int t = text.size();
    double[][] nums = new double[k][rows >= 0 ? (int) rows : 1 << 16];
    int[] n = new int[k];
    List<List<String>> texts = new ArrayList<>();
    for (int i = 0; i < t; i++) {
      texts.add(new ArrayList<>());
    }
    List<String> exprs = new ArrayList<>();
    numeric.forEach(c -> exprs.add("cast(" + quote(c) + " as double)"));
    text.forEach(c -> exprs.add("cast(" + quote(c) + " as varchar)"));
    String sql =
        exprs.isEmpty()
            ? "select count(*) from data"
            : "select " + String.join(", ", exprs) + " from data";
    long count = 0;
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      if (exprs.isEmpty()) {
        rs.next();
        count = rs.getLong(1);
      }
      while (!exprs.isEmpty() && rs.next()) {
        count++;
        for (int i = 0; i < k; i++) {
          double v = rs.getDouble(i + 1);
          if (!rs.wasNull()) {
            if (n[i] == nums[i].length) {
              nums[i] = Arrays.copyOf(nums[i], nums[i].length * 2);
            }
            nums[i][n[i]++] = v;
          }
        }
        for (int i = 0; i < t; i++) {
          String v = rs.getString(k + i + 1);
          if (v != null) {
            texts.get(i).add(v);
          }
        }
      }
    } catch (SQLException e) {
      String ragged = RaggedRows.find(file);
      throw new DataException(
          file + ": cannot read: " + (ragged != null ? ragged : firstLine(e.getMessage())), e);
    }
    rows = count;
    Map<String, double[]> outNums = new LinkedHashMap<>();
    for (int i = 0; i < k; i++) {
      outNums.put(numeric.get(i), n[i] == nums[i].length ? nums[i] : Arrays.copyOf(nums[i], n[i]));
    }
    Map<String, List<String>> outTexts = new LinkedHashMap<>();
    for (int i = 0; i < t; i++) {
      outTexts.put(text.get(i), texts.get(i));
    }
    return new Columns(count, outNums, outTexts);
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
