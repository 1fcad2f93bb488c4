package dev.kiln.engine.config;

import java.nio.file.Path;
import java.util.Map;

/**
 * Process-wide settings, read once from the environment and checked at start.
 *
 * @param home {@code KILN_HOME}, default {@code ~/.kiln}: embedded database, artifacts, work
 *     folders
 * @param dbUrl {@code KILN_DB_URL}, a JDBC URL; null means the embedded PostgreSQL in {@code home}
 * @param s3 {@code KILN_ARTIFACTS=s3://BUCKET/PREFIX} and its settings; null means artifacts live
 *     in the local folder {@link #artifactsDir()} (which is then the S3 store's local copy)
 */
public record KilnConfig(Path home, String dbUrl, String dbUser, String dbPassword, S3Settings s3) {

  public KilnConfig(Path home, String dbUrl, String dbUser, String dbPassword) {
    this(home, dbUrl, dbUser, dbPassword, null);
  }

  public static KilnConfig fromEnvironment() {
    return from(System.getenv());
  }

  public static KilnConfig from(Map<String, String> env) {
    String home = env.get("KILN_HOME");
    Path homePath =
        home == null || home.isBlank()
            ? Path.of(System.getProperty("user.home"), ".kiln")
            : Path.of(home);
    String url = blankToNull(env.get("KILN_DB_URL"));
    if (url != null && !url.startsWith("jdbc:postgresql:")) {
      throw new ConfigException(
          "KILN_DB_URL must be a PostgreSQL JDBC URL (jdbc:postgresql://host:port/db), got '"
              + url
              + "'");
    }
    return new KilnConfig(
        homePath.toAbsolutePath().normalize(),
        url,
        blankToNull(env.get("KILN_DB_USER")),
        blankToNull(env.get("KILN_DB_PASSWORD")),
        S3Settings.from(env));
  }

  public Path artifactsDir() {
    return home.resolve("artifacts");
  }

  public Path workDir() {
    return home.resolve("work");
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
