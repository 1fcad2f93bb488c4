package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseTest {
  private static final Pattern MIGRATION = Pattern.compile("V([0-9_]+)__.*\\.sql");

  @Test
  void latestMigrationNamesTheNewestFile() throws Exception {
    String newest;
    try (Stream<Path> files = Files.list(Path.of("src/main/resources/db/migration"))) {
      newest =
          files
              .map(f -> MIGRATION.matcher(f.getFileName().toString()))
              .filter(Matcher::matches)
              .map(m -> m.group(1).replace('_', '.'))
              .max(Comparator.comparing(DatabaseTest::versionKey))
              .orElseThrow();
    }
    assertThat(Database.LATEST_MIGRATION).as("Database.LATEST_MIGRATION").isEqualTo(newest);
  }

  /** "3.1" sorts after "3" and before "4", "11" after "9". */
  private static String versionKey(String v) {
    StringBuilder sb = new StringBuilder();
    for (String part : v.split("\\.")) {
      sb.append(String.format("%06d.", Integer.parseInt(part)));
    }
    return sb.toString();
  }

  @Test
  void aCommandsStoreIsOneConnectionOnceMigratedAndRefusesATransactionInsideAnother(
      @TempDir Path home) throws Exception {
    TestDb.Url url = TestDb.freshUrl();
    Map<String, String> env = new HashMap<>();
    env.put("KILN_HOME", home.toString());
    env.put("KILN_DB_URL", url.url());
    env.put("KILN_DB_USER", url.user());
    if (url.password() != null) {
      env.put("KILN_DB_PASSWORD", url.password());
    }
    KilnConfig config = KilnConfig.from(env);
    try (Database first = Database.openForCommand(config)) {
      assertThat(first.dataSource())
          .as("an empty database is migrated through the pool")
          .isInstanceOf(HikariDataSource.class);
    }
    try (Database db = Database.openForCommand(config)) {
      assertThat(db.dataSource()).isNotInstanceOf(HikariDataSource.class);
      int backend = db.tx().inTransaction(DatabaseTest::backendPid);
      db.tx().run(c -> Sql.update(c, "create table t (x int)"));
      int inserted = db.tx().autocommit(c -> Sql.update(c, "insert into t values (1)"));
      assertThat(inserted).isEqualTo(1);
      assertThatThrownBy(
              () ->
                  db.tx()
                      .run(
                          c -> {
                            Sql.update(c, "insert into t values (2)");
                            db.tx().run(inner -> Sql.update(inner, "insert into t values (3)"));
                          }))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("inside another");
      assertThatThrownBy(
              () ->
                  db.tx()
                      .run(
                          c -> {
                            Sql.update(c, "insert into t values (4)");
                            throw new SQLException("the work failed");
                          }))
          .isInstanceOf(StoreException.class);
      // The same session throughout, the failed transactions rolled back, autocommit restored.
      int again = db.tx().autocommit(DatabaseTest::backendPid);
      assertThat(again).isEqualTo(backend);
      List<Integer> rows =
          db.tx().inTransaction(c -> Sql.query(c, "select x from t", rs -> rs.getInt(1)));
      assertThat(rows).containsExactly(1);
      try (Connection other = db.dataSource().getConnection()) {
        assertThat(backendPid(other)).as("dataSource() gives other sessions").isNotEqualTo(backend);
      }
    }
  }

  private static int backendPid(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void aMigratedSchemaSkipsFlywayAndAFreshOrFailedOneDoesNot() throws Exception {
    TestDb.Url url = TestDb.freshUrl();
    try (Database db = Database.connect(url.url(), url.user(), url.password(), 2)) {
      assertThat(Database.upToDate(db.dataSource())).isTrue();
      try (Connection c = db.dataSource().getConnection();
          Statement st = c.createStatement()) {
        st.execute(
            "update flyway_schema_history set success = false where version = '"
                + Database.LATEST_MIGRATION
                + "'");
      }
      assertThat(Database.upToDate(db.dataSource())).as("a failed migration").isFalse();
      try (Connection c = db.dataSource().getConnection();
          Statement st = c.createStatement()) {
        st.execute("drop table flyway_schema_history");
      }
      assertThat(Database.upToDate(db.dataSource())).as("no history").isFalse();
    }
  }

  @Test
  void keepFullOpensEveryConnectionOfThePoolAndKeepsThem() throws Exception {
    try (Database db = TestDb.fresh(6)) {
      HikariDataSource pool = (HikariDataSource) db.dataSource();
      db.keepFull();
      Await.until(
          "six open connections",
          Duration.ofSeconds(60),
          () -> pool.getHikariPoolMXBean().getTotalConnections() == 6);
      assertThat(pool.getHikariPoolMXBean().getIdleConnections()).isEqualTo(6);
      assertThat(pool.getMinimumIdle()).isEqualTo(6);
    }
  }
}
