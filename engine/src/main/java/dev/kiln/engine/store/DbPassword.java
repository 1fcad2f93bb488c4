package dev.kiln.engine.store;

import dev.kiln.engine.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * The password of the embedded PostgreSQL: generated once, kept in {@code $KILN_HOME/db-password}
 * (mode 0600), and required for every connection by a {@code pg_hba.conf} that Kiln writes ({@code
 * scram-sha-256} for local sockets and every address). A data folder initialised with trust
 * authentication (before this existed, or by zonky's {@code initdb -A trust} on first start) is
 * secured the first time a kiln process opens it: the password is set, then pg_hba is switched and
 * reloaded.
 */
final class DbPassword {
  static final String FILE = "db-password";

  /** The first line of the pg_hba.conf Kiln writes: its presence means "already secured". */
  static final String MARKER = "# kiln: every connection needs $KILN_HOME/db-password";

  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-]{20,200}");

  private DbPassword() {}

  /** The password of the server in {@code data}, created (0600) when the home has none yet. */
  static String of(Path home, Path data) throws IOException {
    Path file = home.resolve(FILE);
    if (Files.exists(file)) {
      String pw = OwnerOnlyFile.read(file);
      if (!SAFE.matcher(pw).matches()) {
        throw new ConfigException(
            file
                + " does not hold a password Kiln wrote: restore it, or delete it only if "
                + data
                + " was never secured");
      }
      return pw;
    }
    if (secured(data)) {
      throw new ConfigException(
          file
              + " is missing but the embedded PostgreSQL in "
              + data
              + " requires a password: restore the file from a backup (or remove "
              + data
              + " to start with an empty store)");
    }
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    String pw = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    OwnerOnlyFile.create(file, pw + "\n");
    return pw;
  }

  /**
   * Makes the running server on {@code port} require {@code password}, if its pg_hba.conf is not
   * Kiln's yet. Order matters: the password is set while trust still lets us in, then pg_hba
   * changes; a crash in between leaves a server that still trusts and is secured next time.
   */
  static void require(Path data, int port, String password) throws IOException {
    if (secured(data)) {
      return;
    }
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://localhost:" + port + "/postgres",
                EmbeddedServer.USER,
                password);
        Statement st = c.createStatement()) {
      st.execute("set password_encryption = 'scram-sha-256'");
      // A utility statement takes no bind parameters; SAFE allows no quote or backslash.
      st.execute("alter role " + EmbeddedServer.USER + " password '" + password + "'");
      Path hba = data.resolve("pg_hba.conf");
      Path tmp = data.resolve("pg_hba.conf.kiln");
      Files.writeString(
          tmp,
          MARKER
              + "\n"
              + "local all all scram-sha-256\n"
              + "host all all all scram-sha-256\n"
              + "local replication all scram-sha-256\n"
              + "host replication all all scram-sha-256\n",
          StandardCharsets.UTF_8);
      Files.move(tmp, hba, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      st.execute("select pg_reload_conf()");
    } catch (SQLException e) {
      throw new ConfigException(
          "cannot set the password of the embedded PostgreSQL in "
              + data
              + " (its pg_hba.conf is not Kiln's and does not trust this connection): "
              + e.getMessage(),
          e);
    }
  }

  static boolean secured(Path data) throws IOException {
    Path hba = data.resolve("pg_hba.conf");
    return Files.exists(hba) && Files.readString(hba, StandardCharsets.UTF_8).startsWith(MARKER);
  }
}
