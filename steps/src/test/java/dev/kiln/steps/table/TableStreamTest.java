package dev.kiln.steps.table;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.duckdb.DuckDBChunkedResult;
import org.duckdb.DuckDBConnection;
import org.duckdb.DuckDBPreparedStatement;
import org.junit.jupiter.api.Test;

/**
 * A streamed DuckDB result that fails part way ends like a finished one (nextChunk() is false);
 * {@link Table#failedStream} tells them apart, so a scan never takes a failed read for a short
 * file.
 */
class TableStreamTest {
  // One thread, so the failing row is reached after many chunks have been handed out.
  private static final String FAILS_LATE =
      "select case when i < 3000000 then i::double else error('read failed at row ' || i) end"
          + " from range(6000000) t(i)";

  @Test
  void aStreamThatFailsMidwayEndsSilentlyAndFailedStreamThrowsItsError() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:")) {
      try (Statement st = c.createStatement()) {
        st.execute("set threads = 1");
      }
      try (DuckDBPreparedStatement st = c.unwrap(DuckDBConnection.class).prepare(FAILS_LATE);
          DuckDBChunkedResult rs = st.query()) {
        long rows = 0;
        while (rs.nextChunk()) {
          rows += rs.chunk().rowCount();
        }
        // The driver's behaviour this guards against: fewer rows, and no exception.
        assertThat(rows).isPositive().isLessThan(6_000_000);
        assertThatThrownBy(() -> Table.failedStream(rs))
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("read failed at row 3000000");
      }
    }
  }

  @Test
  void aStreamThatEndsWellPasses() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        DuckDBPreparedStatement st =
            c.unwrap(DuckDBConnection.class).prepare("select i::double from range(100000) t(i)");
        DuckDBChunkedResult rs = st.query()) {
      long rows = 0;
      while (rs.nextChunk()) {
        rows += rs.chunk().rowCount();
      }
      assertThat(rows).isEqualTo(100_000);
      Table.failedStream(rs); // no error
    }
  }
}
