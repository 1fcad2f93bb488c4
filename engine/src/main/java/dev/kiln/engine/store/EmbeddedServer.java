package dev.kiln.engine.store;

import dev.kiln.engine.config.ConfigException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL in {@code $KILN_HOME/pgdata}, shared by every kiln process on the
 * machine. The first process starts it; it keeps running after that process exits (no shutdown
 * hook) so a second {@code kiln run} started meanwhile, or after a crash, finds it and connects.
 * {@code kiln db stop} stops it. Every connection needs the password in {@code
 * $KILN_HOME/db-password} ({@link DbPassword}).
 */
public final class EmbeddedServer {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedServer.class);
  public static final String USER = "postgres";
  private final int port;
  private final String password;

  private EmbeddedServer(int port, String password) {
    this.port = port;
    this.password = password;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://localhost:" + port + "/postgres";
  }

  /** The URL with user and password in it, for tools outside Kiln ({@code kiln db url}). */
  public String jdbcUrlWithCredentials() {
    return jdbcUrl() + "?user=" + USER + "&password=" + password;
  }

  public int port() {
    return port;
  }

  public String password() {
    return password;
  }

  public static EmbeddedServer ensureRunning(Path home) {
    try {
      Files.createDirectories(home);
      // One starter at a time: two kiln processes starting at once must not both init the data dir.
      try (FileChannel ch =
              FileChannel.open(
                  home.resolve("embedded-db.lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock ignored = ch.lock()) {
        Path data = home.resolve("pgdata");
        String password = DbPassword.of(home, data);
        Optional<Integer> running = runningPort(data, password);
        int port = running.isPresent() ? running.get() : start(home, data, password);
        DbPassword.require(data, port, password);
        return new EmbeddedServer(port, password);
      }
    } catch (IOException e) {
      throw new ConfigException(
          "cannot start the embedded PostgreSQL in " + home + ": " + e.getMessage(), e);
    }
  }

  /**
   * The embedded server of {@code home} as its files describe it when its postmaster lives and Kiln
   * has secured it, without the start-up lock and without logging in: for a command that connects
   * once and goes the way of {@link #ensureRunning} if that connection fails.
   */
  static Optional<EmbeddedServer> runningNow(Path home) {
    Path data = home.resolve("pgdata");
    try {
      if (!Files.exists(home.resolve(DbPassword.FILE)) || !DbPassword.secured(data)) {
        return Optional.empty();
      }
      Optional<Integer> port = livePort(data);
      return port.isEmpty()
          ? Optional.empty()
          : Optional.of(new EmbeddedServer(port.get(), DbPassword.of(home, data)));
    } catch (IOException | ConfigException unusual) {
      return Optional.empty(); // ensureRunning explains
    }
  }

  /** Whether the embedded server of {@code home} has a live postmaster; never starts one. */
  public static boolean running(Path home) {
    try {
      return postmasterPid(home.resolve("pgdata"))
          .flatMap(ProcessHandle::of)
          .map(ProcessHandle::isAlive)
          .orElse(false);
    } catch (IOException unreadable) {
      return false;
    }
  }

  /** Stops the server if one runs; returns whether one did. */
  public static boolean stop(Path home) throws IOException, InterruptedException {
    Path data = home.resolve("pgdata");
    Optional<Long> pid = postmasterPid(data);
    if (pid.isEmpty()) {
      return false;
    }
    Optional<ProcessHandle> ph = ProcessHandle.of(pid.get());
    if (ph.isEmpty() || !ph.get().isAlive()) {
      return false;
    }
    // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
    new ProcessBuilder("kill", "-INT", String.valueOf(pid.get())).inheritIO().start().waitFor();
    ph.get().onExit().join();
    return true;
  }

  /**
   * The servers this JVM started, by data folder. zonky's handle holds a file lock on the data
   * folder until it is closed; a server stopped from outside (SIGINT to its postmaster) leaves the
   * handle open, and starting the same folder again in this JVM would then fail on that lock.
   */
  private static final Map<Path, EmbeddedPostgres> STARTED = new ConcurrentHashMap<>();

  private static int start(Path home, Path data, String password) throws IOException {
    EmbeddedPostgres stale = STARTED.remove(data);
    if (stale != null) {
      try {
        stale.close(); // its postmaster is gone: this releases the lock (pg_ctl stop finds nothing)
      } catch (IOException | RuntimeException e) {
        log.debug("closing the handle of a stopped embedded PostgreSQL: {}", e.toString());
      }
    }
    Path logFile = home.resolve("postgres.log");
    long t0 = System.nanoTime();
    // The same port as last time when it is free: processes that keep their JDBC URL (workers,
    // servers) reconnect to a restarted server instead of looking for it.
    Path portFile = home.resolve("postgres.port");
    int port = previousPort(portFile);
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
    if (port > 0) {
      builder.setPort(port);
    }
    EmbeddedPostgres pg =
        builder
            .setDataDirectory(data)
            .setCleanDataDirectory(false)
            .setRegisterShutdownHook(false)
            .setPGStartupWait(Duration.ofSeconds(60))
            .setServerConfig("max_connections", "300")
            // zonky connects to see the server up: once secured, that needs the password.
            .setConnectConfig("password", password)
            // zonky's default is off, which can lose the last commits if PostgreSQL or the
            // machine crashes: a claimed step could then run twice. Here a commit costs an
            // fsync of about 0.13 ms, below what kiln bench can tell apart (docs/benchmarks.md).
            .setServerConfig("synchronous_commit", "on")
            // zonky also starts the postmaster with -F (fsync off), under which a commit waits
            // for nothing: the -c given here comes after it on the command line and wins.
            .setServerConfig("fsync", "on")
            .setOutputRedirector(Redirect.appendTo(logFile.toFile()))
            .setErrorRedirector(Redirect.appendTo(logFile.toFile()))
            .start();
    STARTED.put(data, pg);
    Files.writeString(portFile, pg.getPort() + "\n");
    log.info(
        "started embedded PostgreSQL on port {} with data in {} ({} ms)",
        pg.getPort(),
        data,
        (System.nanoTime() - t0) / 1_000_000);
    return pg.getPort();
  }

  /** The port the server had before, if it is free now; 0 to let zonky choose one. */
  private static int previousPort(Path portFile) {
    try {
      int port = Integer.parseInt(Files.readString(portFile).trim());
      try (ServerSocket probe = new ServerSocket()) {
        probe.setReuseAddress(true);
        probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return port;
      }
    } catch (IOException | IllegalArgumentException e) {
      return 0;
    }
  }

  private static Optional<Integer> runningPort(Path data, String password) throws IOException {
    return livePort(data).filter(port -> accepts(port, password));
  }

  /** The port in {@code postmaster.pid} when the process it names lives. */
  private static Optional<Integer> livePort(Path data) throws IOException {
    Path pidFile = data.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return Optional.empty();
    }
    List<String> lines = Files.readAllLines(pidFile);
    if (lines.size() < 4) {
      return Optional.empty();
    }
    long pid;
    int port;
    try {
      pid = Long.parseLong(lines.get(0).trim());
      port = Integer.parseInt(lines.get(3).trim());
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
        ? Optional.of(port)
        : Optional.empty();
  }

  private static Optional<Long> postmasterPid(Path data) throws IOException {
    Path pidFile = data.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return Optional.empty();
    }
    List<String> lines = Files.readAllLines(pidFile);
    try {
      return lines.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(lines.get(0).trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static boolean accepts(int port, String password) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try (Connection c =
          DriverManager.getConnection(
              "jdbc:postgresql://localhost:" + port + "/postgres", USER, password)) {
        return true;
      } catch (SQLException e) {
        if (e.getSQLState() != null && e.getSQLState().startsWith("28")) {
          return true; // it answers, but refuses the password: DbPassword.require explains
        }
        // 57P03: the server is starting up (another process just launched it): wait for it.
        if (!"57P03".equals(e.getSQLState()) || System.nanoTime() > deadline) {
          return false;
        }
        Thread.onSpinWait();
      }
    }
  }
}
