package dev.kiln.engine.config;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Process-wide settings, read once from the environment and checked at start.
 *
 * @param home {@code KILN_HOME}, default {@code ~/.kiln}: embedded database, artifacts, work
 *     folders
 * @param dbUrl {@code KILN_DB_URL}, a JDBC URL; null means the embedded PostgreSQL in {@code home}
 * @param s3 {@code KILN_ARTIFACTS=s3://BUCKET/PREFIX} and its settings; null means artifacts live
 *     in the local folder {@link #artifactsDir()} (which is then the S3 store's local copy)
 * @param dataRoots {@code KILN_DATA_ROOTS} (folders separated by {@code :}) and each {@code
 *     --data-root}: where built-in steps may read and write besides the run's own folders
 */
public record KilnConfig(
    Path home,
    String dbUrl,
    String dbUser,
    String dbPassword,
    S3Settings s3,
    List<Path> dataRoots) {

  public KilnConfig {
    dataRoots = List.copyOf(dataRoots);
  }

  public KilnConfig(Path home, String dbUrl, String dbUser, String dbPassword, S3Settings s3) {
    this(home, dbUrl, dbUser, dbPassword, s3, List.of());
  }

  public KilnConfig(Path home, String dbUrl, String dbUser, String dbPassword) {
    this(home, dbUrl, dbUser, dbPassword, null);
  }

  /** This configuration with more data roots (from {@code --data-root}); each must be a folder. */
  public KilnConfig withDataRoots(List<Path> more, String setting) {
    List<Path> all = new ArrayList<>(dataRoots);
    all.addAll(folders(more, setting));
    return new KilnConfig(home, dbUrl, dbUser, dbPassword, s3, all);
  }

  private static List<Path> folders(List<Path> dirs, String setting) {
    List<Path> out = new ArrayList<>();
    for (Path d : dirs) {
      if (!Files.isDirectory(d)) {
        throw new ConfigException(setting + ": '" + d + "' is not a folder");
      }
      out.add(d.toAbsolutePath().normalize());
    }
    return out;
  }

  /** The caller's settings ({@link Caller}: this process's environment outside kiln daemon). */
  public static KilnConfig fromEnvironment() {
    return from(Caller.env());
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
        S3Settings.from(env),
        folders(
            Stream.of(env.getOrDefault("KILN_DATA_ROOTS", "").split(File.pathSeparator))
                .filter(s -> !s.isBlank())
                .map(Path::of)
                .toList(),
            "KILN_DATA_ROOTS"));
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
