package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

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
