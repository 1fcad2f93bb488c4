package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.testing.Await;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded PostgreSQL requires the generated password, against the real server. */
class EmbeddedPasswordTest {
  @TempDir Path home;

  @AfterEach
  void stop() throws Exception {
    EmbeddedServer.stop(home);
  }

  @Test
  void aNewHomeGetsAnOwnerOnlyPasswordAndRefusesConnectionsWithoutIt() throws Exception {
    EmbeddedServer server = EmbeddedServer.ensureRunning(home);

    Path file = home.resolve("db-password");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(Files.readString(file).trim()).isEqualTo(server.password()).hasSizeGreaterThan(30);
    awaitRefusedWithoutPassword(server.port());

    // Kiln's own processes open the store through KILN_HOME; an outside tool through the URL
    // `kiln db url` prints.
    try (Database db = Database.open(KilnConfig.from(Map.of("KILN_HOME", home.toString())), 2)) {
      assertThat(count(db.dataSource().getConnection())).isEqualTo(1);
    }
    // A short command finds the running server by its files and logs in once, with the password.
    try (Database db =
        Database.openForCommand(KilnConfig.from(Map.of("KILN_HOME", home.toString())))) {
      assertThat(db.dataSource()).isNotInstanceOf(HikariDataSource.class);
      List<Integer> one = db.tx().inTransaction(c -> Sql.query(c, "select 1", rs -> rs.getInt(1)));
      assertThat(one).containsExactly(1);
    }
    try (Connection c = DriverManager.getConnection(server.jdbcUrlWithCredentials())) {
      // A commit is durable: zonky's -F (fsync off) would make synchronous_commit wait for nothing.
      assertThat(setting(c, "fsync")).isEqualTo("on");
      assertThat(setting(c, "synchronous_commit")).isEqualTo("on");
      assertThat(count(c)).isEqualTo(1);
    }
    // A second start finds the running server with the same password.
    assertThat(EmbeddedServer.ensureRunning(home).password()).isEqualTo(server.password());
  }

  @Test
  void aHomeInitialisedWithTrustIsSecuredWhenKilnOpensItRunningOrStopped() throws Exception {
    // What an older kiln left: a trusting cluster, still running, and no password file.
    EmbeddedPostgres old =
        EmbeddedPostgres.builder()
            .setDataDirectory(home.resolve("pgdata"))
            .setCleanDataDirectory(false)
            .setRegisterShutdownHook(false)
            .start();
    int port = old.getPort();
    assertThat(refusal(port, null)).isNull();

    EmbeddedServer server = EmbeddedServer.ensureRunning(home);
    assertThat(server.port()).isEqualTo(port);
    awaitRefusedWithoutPassword(port);
    try (Connection c = DriverManager.getConnection(server.jdbcUrlWithCredentials())) {
      assertThat(count(c)).isEqualTo(1);
    }
    old.close();

    // Started again by kiln on the secured folder: the password still works, trust does not.
    EmbeddedServer again = EmbeddedServer.ensureRunning(home);
    assertThat(refusal(again.port(), "guess")).isEqualTo("28P01");
    try (Connection c = DriverManager.getConnection(again.jdbcUrlWithCredentials())) {
      assertThat(count(c)).isEqualTo(1);
    }
  }

  @Test
  void aPasswordFileOthersCanReadOrALostOneIsRefusedWithWhatToDo() throws Exception {
    EmbeddedServer.ensureRunning(home);
    EmbeddedServer.stop(home);
    Path file = home.resolve("db-password");

    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> EmbeddedServer.ensureRunning(home))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("chmod 600 " + file);

    Files.delete(file);
    assertThatThrownBy(() -> EmbeddedServer.ensureRunning(home))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("db-password is missing")
        .hasMessageContaining("restore the file");
  }

  private static void awaitRefusedWithoutPassword(int port) throws Exception {
    // pg_reload_conf() signals the postmaster; the new pg_hba applies a moment later.
    Await.until(
        "the server to refuse a connection without password",
        Duration.ofSeconds(10),
        () -> refusal(port, null) != null);
    // 08004: pgjdbc's "the server requested SCRAM-based authentication, but no password".
    assertThat(refusal(port, null)).isEqualTo("08004");
    assertThat(refusal(port, "")).isIn("08004", "28P01");
    assertThat(refusal(port, "guess")).isEqualTo("28P01");
  }

  /** The SQLState of a refused connection as postgres, or null when it is let in. */
  private static String refusal(int port, String password) {
    try (Connection c =
        DriverManager.getConnection(
            "jdbc:postgresql://localhost:" + port + "/postgres", "postgres", password)) {
      return null;
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  private static int count(Connection c) throws SQLException {
    try (c;
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static String setting(Connection c, String name) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("show " + name)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
