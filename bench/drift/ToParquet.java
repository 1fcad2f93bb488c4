// Converts the benchmark CSVs to Parquet with DuckDB (the library Kiln reads them with):
//   java -cp duckdb_jdbc.jar bench/drift/ToParquet.java IN.csv OUT.parquet
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

public class ToParquet {
  public static void main(String[] a) throws Exception {
    Class.forName("org.duckdb.DuckDBDriver");
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = c.createStatement()) {
      st.execute("copy (select * from read_csv('" + a[0].replace("'", "''") + "')) to '"
          + a[1].replace("'", "''") + "' (format parquet)");
    }
  }
}
