package dev.kiln.engine.testing;

import dev.kiln.engine.store.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL for tests: the server named by KILN_TEST_DB_URL (with KILN_TEST_DB_USER and
 * KILN_TEST_DB_PASSWORD), or one embedded server per test JVM. Each call to {@link #fresh()}
 * creates a new empty database on it, so tests never see each other's rows.
 */
public final class TestDb {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static String adminUrl;
  private static String user;
  private static String password;

  private TestDb() {}

  private static synchronized void init() {
    if (adminUrl != null) {
      return;
    }
    String url = System.getenv("KILN_TEST_DB_URL");
    if (url != null && !url.isBlank()) {
      adminUrl = url;
      user = System.getenv().getOrDefault("KILN_TEST_DB_USER", "postgres");
      password = System.getenv("KILN_TEST_DB_PASSWORD");
      return;
    }
    try {
      EmbeddedPostgres pg =
          EmbeddedPostgres.builder().setServerConfig("max_connections", "300").start();
      adminUrl = "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres";
      user = "postgres";
      password = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded PostgreSQL for tests", e);
    }
  }

  /** A JDBC URL, user and password of a new, empty database. */
  public record Url(String url, String user, String password) {}

  public static Url freshUrl() {
    init();
    String name = "kiln_test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    try (Connection c = DriverManager.getConnection(adminUrl, user, password);
        Statement s = c.createStatement()) {
      s.execute("create database " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create test database " + name, e);
    }
    int slash = adminUrl.lastIndexOf('/');
    int q = adminUrl.indexOf('?', slash);
    String url = adminUrl.substring(0, slash + 1) + name + (q < 0 ? "" : adminUrl.substring(q));
    return new Url(url, user, password);
  }

  /** A migrated, empty database. */
  public static Database fresh() {
    return fresh(10);
  }

  public static Database fresh(int poolSize) {
    Url u = freshUrl();
    return Database.connect(u.url(), u.user(), u.password(), poolSize);
  }
}
