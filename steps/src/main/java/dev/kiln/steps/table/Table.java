package dev.kiln.steps.table;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.duckdb.DuckDBChunkedResult;
import org.duckdb.DuckDBConnection;
import org.duckdb.DuckDBDataChunkReader;
import org.duckdb.DuckDBPreparedStatement;
import org.duckdb.DuckDBReadableVector;

/**
 * The one DuckDB reader of CSV and Parquet files: a file as table (or view) {@code data} in an
 * in-memory DuckDB, optionally with a 1-based row number column {@code __row}. The delimiter comes
 * from the format (comma for CSV, tab for TSV); DuckDB detects quoting and the column types.
 */
public final class Table implements AutoCloseable {
  /** How a file is read. Stored copies are named by their hash, so callers may give the format. */
  public enum Format {
    CSV,
    TSV,
    CSV_GZIP,
    TSV_GZIP,
    PARQUET;

    /** The format by the file's name; null when the name says no table format. */
    public static Format of(Path file) {
      String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
      if (n.endsWith(".csv.gz")) {
        return CSV_GZIP;
      }
      if (n.endsWith(".tsv.gz")) {
        return TSV_GZIP;
      }
      if (n.endsWith(".csv")) {
        return CSV;
      }
      if (n.endsWith(".tsv")) {
        return TSV;
      }
      return n.endsWith(".parquet") || n.endsWith(".pq") ? PARQUET : null;
    }

    /** The format by the file's name, CSV when the name says none. */
    static Format byName(Path file) {
      Format f = of(file);
      return f == null ? CSV : f;
    }

    /** A FROM clause reading the file; the path is quoted as a SQL string literal. */
    String source(Path file) {
      return source(file, "");
    }

    /** {@link #source}, with more options for read_csv (each starting with a comma). */
    String source(Path file, String csvOptions) {
      String lit = "'" + file.toAbsolutePath().toString().replace("'", "''") + "'";
      String csv = "read_csv(" + lit + ", header = true, delim = ";
      return switch (this) {
        case PARQUET -> "read_parquet(" + lit + ")";
        case CSV -> csv + "','" + csvOptions + ")";
        case TSV -> csv + "'\t'" + csvOptions + ")";
        case CSV_GZIP -> csv + "',', compression = 'gzip'" + csvOptions + ")";
        case TSV_GZIP -> csv + "'\t', compression = 'gzip'" + csvOptions + ")";
      };
    }
  }

  /**
   * read_csv's options for a scan: buffers of 8 MB instead of DuckDB's 32 MB (16 times the 2 MB
   * longest line), since each reading thread holds some (a scan of a 193 MB CSV then peaks about 40
   * MB lower, no slower: docs/benchmarks.md, Drift); and bad rows kept aside in {@code
   * reject_errors} rather than thrown, since a streamed result drops the error ({@link #scan}).
   */
  private static final String SCAN_CSV_OPTIONS = ", buffer_size = 8388608, store_rejects = true";

  /** A column of the file, with the type DuckDB found and its kind. */
  public record Column(String name, String duckType, ColumnKind kind) {}

  private final Path file;
  private final Connection conn;
  private final List<Column> columns;
  private long rows;

  /** Whether read_csv keeps bad rows aside in {@code reject_errors} ({@link #openForScan}). */
  private final boolean rejects;

  private Table(Path file, Connection conn, List<Column> columns, long rows, boolean rejects) {
    this.rejects = rejects;
    this.file = file;
    this.conn = conn;
    this.columns = columns;
    this.rows = rows;
  }

  /**
   * Loads a file with row numbers; .parquet/.pq are read as Parquet, .tsv as tab-separated,
   * everything else as CSV with a header.
   */
  public static Table open(Path file) throws DataException {
    return open(file, true);
  }

  /**
   * Loads a file; without row numbers ({@code __row}) DuckDB need not keep the file's order, which
   * makes loading large files faster.
   */
  public static Table open(Path file, boolean rowNumbers) throws DataException {
    if (!Files.isRegularFile(file)) {
      throw new DataException(file + ": no such file");
    }
    try {
      return open(file, Format.byName(file), rowNumbers);
    } catch (SQLException e) {
      throw unreadable(file, e);
    }
  }

  /**
   * Reads a file in the given format; without row numbers the table is a view over the file and
   * DuckDB need not keep the file's order, which makes large files faster. A file DuckDB cannot
   * read is its SQLException; {@link #unreadable} explains it.
   */
  public static Table open(Path file, Format format, boolean rowNumbers) throws SQLException {
    Connection conn = DuckDb.open();
    try {
      if (rowNumbers) {
        loadInto(conn, file, format, "data");
        return new Table(file, conn, describe(conn, "data"), count(conn, "data"), false);
      }
      try (Statement st = conn.createStatement()) {
        st.execute("create view data as select * from " + format.source(file));
      }
      return new Table(file, conn, describe(conn, "data"), -1, false);
    } catch (SQLException e) {
      closeQuietly(conn, e);
      throw e;
    }
  }

  /**
   * Opens a file for one {@link #scan}: a view over the file (no row numbers), so the file itself
   * is never loaded into a table and the scan streams; a CSV's bad rows are kept aside for the scan
   * to report. DuckDB reads with {@code threads} threads (files read at once share the processors).
   */
  public static Table openForScan(Path file, int threads) throws DataException {
    if (!Files.isRegularFile(file)) {
      throw new DataException(file + ": no such file");
    }
    Format format = Format.byName(file);
    Connection conn = null;
    try {
      conn = DuckDb.open();
      try (Statement st = conn.createStatement()) {
        st.execute("set threads = " + Math.max(1, threads));
        st.execute("create view data as select * from " + format.source(file, SCAN_CSV_OPTIONS));
      }
      return new Table(file, conn, describe(conn, "data"), -1, format != Format.PARQUET);
    } catch (SQLException e) {
      closeQuietly(conn, e);
      throw unreadable(file, e);
    }
  }

  /** "FILE: cannot read: WHY", naming a row with the wrong number of fields when there is one. */
  public static DataException unreadable(Path file, SQLException e) {
    String ragged = RaggedRows.find(file);
    return new DataException(
        file + ": cannot read: " + (ragged != null ? ragged : firstLine(e.getMessage())), e);
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
      loadInto(conn, other, Format.byName(other), table);
      if (count(conn, table) == 0) {
        throw new DataException(other + ": the data set has no rows");
      }
      return describe(conn, table);
    } catch (SQLException e) {
      throw unreadable(other, e);
    }
  }

  private static void loadInto(Connection conn, Path file, Format format, String table)
      throws SQLException {
    try (Statement st = conn.createStatement()) {
      st.execute(
          "create table "
              + table
              + " as select row_number() over () as __row, * from "
              + format.source(file));
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

  /** The number of rows; for a table opened without row numbers this may scan the file. */
  public long rows() throws DataException {
    try {
      return count();
    } catch (SQLException e) {
      throw new DataException(file + ": cannot read: " + firstLine(e.getMessage()), e);
    }
  }

  /** {@link #rows}, with DuckDB's own error. */
  public long count() throws SQLException {
    if (rows < 0) {
      rows = count(conn, "data");
    }
    return rows;
  }

  /** The DuckDB connection holding table {@code data}; not thread-safe. */
  public Connection connection() {
    return conn;
  }

  /** What one {@link #scan} read: the row count and the non-null values of each column. */
  public record Columns(
      long rows, Map<String, DoubleColumn> numeric, Map<String, List<String>> texts) {
    /** Each numeric column's values as one new array. */
    public Map<String, double[]> numbers() {
      Map<String, double[]> out = new LinkedHashMap<>();
      numeric.forEach((name, values) -> out.put(name, values.toArray()));
      return out;
    }
  }

  /**
   * Reads the non-null values of numeric columns (DuckDB numeric types) and of text columns in one
   * pass over the data, streamed chunk by chunk ({@link DuckDBChunkedResult}): the file is parsed
   * once and never held as a table, and a numeric column is never copied while it grows.
   *
   * <p>The driver's {@code nextChunk()} answers false both at the end and when the query failed
   * mid-stream (a read error, a bad value), so the stream's own error is asked for after it ({@link
   * #failedStream}), and the rows are checked too: a file opened by {@link #openForScan} keeps its
   * bad CSV rows aside (read_csv's store_rejects) and any kept row is the error; a Parquet file's
   * rows must number what its metadata says.
   */
  public Columns scan(List<String> numeric, List<String> text) throws DataException {
    int k = numeric.size();
    int t = text.size();
    DoubleColumn[] nums = new DoubleColumn[k];
    for (int i = 0; i < k; i++) {
      nums[i] = new DoubleColumn();
    }
    List<List<String>> texts = new ArrayList<>();
    for (int i = 0; i < t; i++) {
      texts.add(new ArrayList<>());
    }
    List<String> exprs = new ArrayList<>();
    numeric.forEach(c -> exprs.add("cast(" + quote(c) + " as double)"));
    text.forEach(c -> exprs.add("cast(" + quote(c) + " as varchar)"));
    // With no columns asked for, the stream still counts the rows.
    String sql = "select " + (exprs.isEmpty() ? "1" : String.join(", ", exprs)) + " from data";
    long count = 0;
    try (DuckDBPreparedStatement st = conn.unwrap(DuckDBConnection.class).prepare(sql);
        DuckDBChunkedResult rs = st.query()) {
      while (rs.nextChunk()) {
        DuckDBDataChunkReader chunk = rs.chunk();
        long n = chunk.rowCount();
        count += n;
        for (int i = 0; i < k; i++) {
          DuckDBReadableVector v = chunk.vector(i);
          DoubleColumn col = nums[i];
          for (long r = 0; r < n; r++) {
            if (!v.isNull(r)) {
              col.add(v.getDouble(r));
            }
          }
        }
        for (int i = 0; i < t; i++) {
          DuckDBReadableVector v = chunk.vector(k + i);
          List<String> col = texts.get(i);
          for (long r = 0; r < n; r++) {
            if (!v.isNull(r)) {
              col.add(v.getString(r));
            }
          }
        }
      }
      failedStream(rs);
      checkComplete(count);
    } catch (SQLException e) {
      throw unreadable(file, e);
    }
    rows = count;
    Map<String, DoubleColumn> outNums = new LinkedHashMap<>();
    for (int i = 0; i < k; i++) {
      outNums.put(numeric.get(i), nums[i]);
    }
    Map<String, List<String>> outTexts = new LinkedHashMap<>();
    for (int i = 0; i < t; i++) {
      outTexts.put(text.get(i), texts.get(i));
    }
    return new Columns(count, outNums, outTexts);
  }

  /**
   * duckdb_jdbc's package-private {@code DuckDBChunkedResult.checkError()}: the only way to ask a
   * chunked result whether it ended because the query failed (the C API's {@code
   * duckdb_result_error}). Looked up once; a driver without it fails every scan loudly, and
   * TableStreamTest, rather than letting a failed stream pass for a short file.
   */
  private static final MethodHandle CHECK_ERROR = checkErrorHandle();

  private static MethodHandle checkErrorHandle() {
    try {
      return MethodHandles.privateLookupIn(DuckDBChunkedResult.class, MethodHandles.lookup())
          .findVirtual(DuckDBChunkedResult.class, "checkError", MethodType.methodType(void.class));
    } catch (ReflectiveOperationException e) {
      return null;
    }
  }

  /** Throws the error a finished stream ended on, if it ended on one. */
  static void failedStream(DuckDBChunkedResult rs) throws SQLException {
    if (CHECK_ERROR == null) {
      throw new IllegalStateException(
          "this duckdb_jdbc has no DuckDBChunkedResult.checkError(): Table cannot tell a failed"
              + " stream from a finished one");
    }
    try {
      CHECK_ERROR.invokeExact(rs);
    } catch (SQLException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Throws when a stream of {@code streamed} rows did not read the whole file: a CSV row read_csv
   * kept aside (the first one is the error, a row with the wrong number of fields named as {@link
   * #unreadable} names it), or fewer rows than a Parquet file's metadata or a loaded table hold.
   */
  private void checkComplete(long streamed) throws SQLException, DataException {
    if (rejects) {
      try (Statement st = conn.createStatement();
          ResultSet rs =
              st.executeQuery(
                  "select line, error_message from reject_errors order by line limit 1")) {
        if (rs.next()) {
          String ragged = RaggedRows.find(file);
          throw new DataException(
              file
                  + ": cannot read: "
                  + (ragged != null
                      ? ragged
                      : "line " + rs.getLong(1) + ": " + firstLine(rs.getString(2))));
        }
      }
      return;
    }
    long expected = count(conn, "data");
    if (streamed != expected) {
      throw new DataException(
          file + ": cannot read: the read ended after " + streamed + " of " + expected + " rows");
    }
  }

  /** A column name as a SQL identifier; names come from the file itself, quotes are doubled. */
  public static String quote(String identifier) {
    return "\"" + identifier.replace("\"", "\"\"") + "\"";
  }

  /** The first line of a (DuckDB) message, which is the one that says what went wrong. */
  public static String firstLine(String message) {
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
