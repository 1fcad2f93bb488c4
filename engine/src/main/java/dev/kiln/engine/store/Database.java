package dev.kiln.engine.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.util.DaemonThreads;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The state store connection: a Hikari pool, migrated by Flyway at start; or, for a command that
 * makes a few statements and exits, one plain connection ({@link #openForCommand}).
 */
public final class Database implements AutoCloseable {
  /** The pool; for a one-connection store, pgjdbc's source of new plain connections. */
  private final DataSource pool;

  /** The one connection every transaction uses, or null for a pool. */
  private final Connection kept;

  private final String url;
  private final String user;
  private final String password;

  /**
   * The wake-ups of the pool's transactions, sent after their commits (null for one connection).
   */
  private final Wakeups wakeups;

  /** Whether {@link #kept} outlives this store (kiln daemon's, lent to one command). */
  private final boolean lent;

  /**
   * kiln daemon's one connection per store (URL, user, password), lent to each command in turn
   * instead of a new login per command; null outside the daemon ({@link #keepCommandConnections}).
   */
  private static Map<String, Connection> lendable;

  private Database(DataSource pool, Connection kept, String url, String user, String password) {
    this(pool, kept, url, user, password, false);
  }

  private Database(
      DataSource pool, Connection kept, String url, String user, String password, boolean lent) {
    this.pool = pool;
    this.kept = kept;
    this.url = url;
    this.user = user;
    this.password = password;
    this.wakeups = kept == null ? new Wakeups(this) : null;
    this.lent = lent;
  }

  /**
   * From now on a command's store ({@link #openForCommand}) keeps its connection open for the next
   * command of the same store: for kiln daemon, which runs one command at a time.
   */
  public static synchronized void keepCommandConnections() {
    if (lendable == null) {
      lendable = new HashMap<>();
    }
  }

  /** Connects to KILN_DB_URL, or to (starting if needed) the embedded server in KILN_HOME. */
  public static Database open(KilnConfig config, int poolSize) {
    SecretBox.use(config.home(), System.getenv());
    if (config.dbUrl() != null) {
      return connect(config.dbUrl(), config.dbUser(), config.dbPassword(), poolSize);
    }
    EmbeddedServer server = EmbeddedServer.ensureRunning(config.home());
    return connect(server.jdbcUrl(), EmbeddedServer.USER, server.password(), poolSize);
  }

  public static Database connect(String url, String user, String password, int poolSize) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(url);
    hc.setUsername(user);
    hc.setPassword(password);
    hc.setMaximumPoolSize(poolSize);
    hc.setMinimumIdle(1);
    hc.setPoolName("kiln");
    hc.setConnectionTimeout(10_000);
    hc.setInitializationFailTimeout(10_000);
    HikariDataSource ds;
    try {
      ds = new HikariDataSource(hc);
    } catch (RuntimeException e) {
      throw new ConfigException(
          "cannot connect to the database at " + url + ": " + rootMessage(e), e);
    }
    try {
      if (!upToDate(ds)) {
        Flyway.configure()
            .dataSource(ds)
            .locations("classpath:db/migration")
            .loggers("slf4j")
            .load()
            .migrate();
      }
    } catch (RuntimeException e) {
      ds.close();
      throw new ConfigException("cannot migrate the database at " + url + ": " + rootMessage(e), e);
    }
    return new Database(ds, null, url, user, password);
  }

  /**
   * The store for a command that makes a few statements and exits ({@code kiln runs}, {@code kiln
   * models list}, ...): one plain connection, no pool, and for a running embedded server neither
   * its start-up lock nor a probing login (each login costs a SCRAM key derivation). Anything
   * unusual (the server is not running or refuses, the schema needs migrating) goes the way of
   * {@link #open}, which starts, secures, migrates or explains.
   */
  public static Database openForCommand(KilnConfig config) {
    SecretBox.use(config.home(), System.getenv());
    Optional<EmbeddedServer> running =
        config.dbUrl() != null ? Optional.empty() : EmbeddedServer.runningNow(config.home());
    if (config.dbUrl() == null && running.isEmpty()) {
      return open(config, 2);
    }
    String url = running.map(EmbeddedServer::jdbcUrl).orElse(config.dbUrl());
    String user = running.isPresent() ? EmbeddedServer.USER : config.dbUser();
    String password = running.map(EmbeddedServer::password).orElse(config.dbPassword());
    Database borrowed = borrow(url, user, password);
    if (borrowed != null) {
      return borrowed;
    }
    Connection c;
    try {
      c = DriverManager.getConnection(url, credentials(user, password));
    } catch (SQLException e) {
      return open(config, 2); // explains, or finds a server that was starting up
    }
    try {
      if (upToDate(c)) {
        PGSimpleDataSource plain = new PGSimpleDataSource();
        plain.setURL(url);
        plain.setUser(user);
        plain.setPassword(password);
        return keep(plain, c, url, user, password);
      }
    } catch (RuntimeException e) {
      closeQuietly(c, e);
      throw e;
    }
    closeQuietly(c, null);
    return open(config, 2);
  }

  /** kiln daemon's kept connection to this store, when it still answers. */
  private static synchronized Database borrow(String url, String user, String password) {
    if (lendable == null) {
      return null;
    }
    String key = url + "\0" + user + "\0" + password;
    Connection c = lendable.get(key);
    try {
      if (c != null && c.isValid(2)) {
        PGSimpleDataSource plain = new PGSimpleDataSource();
        plain.setURL(url);
        plain.setUser(user);
        plain.setPassword(password);
        return new Database(plain, c, url, user, password, true);
      }
    } catch (SQLException broken) {
      // opened again below
    }
    lendable.remove(key);
    if (c != null) {
      closeQuietly(c, null);
    }
    return null;
  }

  private static synchronized Database keep(
      DataSource plain, Connection c, String url, String user, String password) {
    if (lendable == null) {
      return new Database(plain, c, url, user, password);
    }
    lendable.put(url + "\0" + user + "\0" + password, c);
    return new Database(plain, c, url, user, password, true);
  }

  /**
   * The version of the newest migration in {@code db/migration}; {@code DatabaseTest} checks it
   * against the files, so adding a migration without raising it fails the build.
   */
  static final String LATEST_MIGRATION = "130";

  /**
   * Whether the schema already has every migration, so Flyway (a quarter of a second of class
   * loading and queries on each command) need not run. Anything unusual (no history yet, a failed
   * migration) is left to Flyway, which migrates or explains.
   */
  static boolean upToDate(DataSource ds) {
    try (Connection c = ds.getConnection()) {
      return upToDate(c);
    } catch (SQLException noConnection) {
      return false;
    }
  }

  private static boolean upToDate(Connection c) {
    try (PreparedStatement st =
        c.prepareStatement(
            """
            select count(*) filter (where not success), count(*) filter (where version = ?)
              from flyway_schema_history""")) {
      st.setString(1, LATEST_MIGRATION);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next() && rs.getLong(1) == 0 && rs.getLong(2) == 1;
      }
    } catch (SQLException noHistoryYet) {
      return false;
    }
  }

  public DataSource dataSource() {
    return pool;
  }

  /**
   * Opens every connection of the pool now, in the background, and keeps them open: a server's
   * requests then never wait for a new connection's login behind the workers (a burst of POSTs
   * waited up to 6 s while the pool grew one login at a time; docs/benchmarks.md).
   */
  public void keepFull() {
    if (!(pool instanceof HikariDataSource hikari)) {
      return; // a one-connection store has no pool to fill
    }
    int size = hikari.getMaximumPoolSize();
    hikari.getHikariConfigMXBean().setMinimumIdle(size);
    DaemonThreads.start(
        "kiln-pool-filler",
        () -> {
          List<Connection> held = new ArrayList<>();
          try {
            // Each borrow takes an idle connection or makes the pool open one more.
            while (held.size() < size
                && hikari.getHikariPoolMXBean().getTotalConnections() < size) {
              held.add(hikari.getConnection());
            }
          } catch (SQLException e) {
            // The pool grows on demand instead; requests then wait for their logins.
          } finally {
            for (Connection c : held) {
              try {
                c.close();
              } catch (SQLException ignored) {
                // back in the pool or gone: either way not held here
              }
            }
          }
        });
  }

  public Tx tx() {
    return kept != null ? new Tx(kept) : new Tx(pool, wakeups);
  }

  /** A connection outside the pool, for LISTEN (it must stay on one session for its lifetime). */
  public Connection dedicatedConnection() throws SQLException {
    return DriverManager.getConnection(url, credentials());
  }

  /**
   * A connection outside the pool whose connect and every statement give up after {@code timeout}
   * (whole seconds, at least one): a caller that must act on time (heartbeats) learns of an
   * unreachable store instead of hanging on it.
   */
  public Connection dedicatedConnection(Duration timeout) throws SQLException {
    Properties p = credentials();
    String seconds = String.valueOf(Math.max(1, timeout.toSeconds()));
    p.setProperty("connectTimeout", seconds);
    p.setProperty("loginTimeout", seconds);
    p.setProperty("socketTimeout", seconds);
    return DriverManager.getConnection(url, p);
  }

  private Properties credentials() {
    return credentials(user, password);
  }

  private static Properties credentials(String user, String password) {
    Properties p = new Properties();
    if (user != null) {
      p.setProperty("user", user);
    }
    if (password != null) {
      p.setProperty("password", password);
    }
    return p;
  }

  public String url() {
    return url;
  }

  @Override
  public void close() {
    if (wakeups != null) {
      wakeups.close(Duration.ofSeconds(2));
    }
    if (pool instanceof HikariDataSource hikari) {
      hikari.close();
    }
    if (kept != null && !lent) {
      try {
        kept.close();
      } catch (SQLException e) {
        throw new StoreException(e);
      }
    }
  }

  private static void closeQuietly(Connection c, Throwable cause) {
    try {
      c.close();
    } catch (SQLException e) {
      if (cause != null) {
        cause.addSuppressed(e);
      }
    }
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
