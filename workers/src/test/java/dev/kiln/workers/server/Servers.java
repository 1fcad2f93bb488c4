package dev.kiln.workers.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Real {@code kiln server} processes on loopback against one test database, and a client. */
final class Servers implements AutoCloseable {
  static final String SECRET = "s3cret-for-tests";
  static final String TOKEN = "token-for-tests";

  final TestDb.Url db = TestDb.freshUrl();

  /**
   * An operator's API token, created in the store before any server starts: what {@link #get} and
   * {@link #postJson} send, and the {@code KILN_TOKEN} of {@link #kiln}.
   */
  final String apiToken;

  final Kiln kiln;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Process> started = new ArrayList<>();

  private final Map<String, String> env = new HashMap<>();
  private final Path dir;

  Servers(Path home, Path dir) {
    this(home, dir, true);
  }

  /** {@code withToken} false: the store starts without any API token (and KILN_TOKEN unset). */
  Servers(Path home, Path dir, boolean withToken) {
    this.dir = dir;
    env.put("KILN_HOME", home.toString());
    env.put("KILN_DB_URL", db.url());
    env.put("KILN_DB_USER", db.user());
    if (db.password() != null) {
      env.put("KILN_DB_PASSWORD", db.password());
    }
    env.put("HOOK_SECRET", SECRET);
    env.put("HOOK_TOKEN", TOKEN);
    apiToken = withToken ? createToken("tests", Role.OPERATOR) : null;
    if (apiToken != null) {
      env.put("KILN_TOKEN", apiToken);
    }
    kiln = new Kiln(env, dir);
  }

  /** The CLI with one environment variable changed (null removes it). */
  Kiln kilnWith(String name, String value) {
    Map<String, String> changed = new HashMap<>(env);
    changed.remove(name);
    if (value != null) {
      changed.put(name, value);
    }
    return new Kiln(changed, dir);
  }

  /** A new API token in this database, created through the store as the CLI does. */
  String createToken(String name, Role role) {
    try (Database d = database()) {
      return new TokenStore(d).create(name, role);
    }
  }

  /** The store of this test database (migrated), for tests that set rows up directly. */
  Database database() {
    return Database.connect(db.url(), db.user(), db.password(), 2);
  }

  /** A running server: its process and base URL. */
  record Server(Process process, String url) {}

  /** A server on a port it picks (--port 0), found from the line it prints once it serves. */
  Server start(Path pipelines, String... extra) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--pipelines",
                pipelines.toString()));
    args.addAll(List.of(extra));
    Process p = kiln.start(args.toArray(String[]::new));
    started.add(p);
    String[] url = new String[1];
    awaitTrue(
        "kiln server prints 'listening on'",
        Duration.ofSeconds(60),
        () -> {
          Matcher m = LISTENING.matcher(kiln.outSoFar(p));
          if (m.find()) {
            url[0] = m.group(1);
            return true;
          }
          if (!p.isAlive()) {
            throw new AssertionError("kiln server exited with " + p.exitValue());
          }
          return false;
        });
    assertThat(getWith(url[0] + "/health").statusCode()).as("GET /health").isEqualTo(200);
    return new Server(p, url[0]);
  }

  private static final Pattern LISTENING =
      Pattern.compile(
          "^kiln server listening on (http://127\\.0\\.0\\.1:[1-9]\\d*) ", Pattern.MULTILINE);

  /** A GET with this helper's operator token. */
  HttpResponse<String> get(String url) throws IOException {
    return getWith(url, "Authorization", "Bearer " + apiToken);
  }

  /** A GET with exactly these headers (none added). */
  HttpResponse<String> getWith(String url, String... headers) throws IOException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.build());
  }

  /** An API write as a client sends it: a JSON body with this helper's operator token. */
  HttpResponse<String> postJson(String url, byte[] body) throws IOException {
    return post(
        url, body, "Content-Type", "application/json", "Authorization", "Bearer " + apiToken);
  }

  /** A POST with exactly these headers (none added). */
  HttpResponse<String> post(String url, byte[] body, String... headers) throws IOException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.build());
  }

  private HttpResponse<String> send(HttpRequest r) throws IOException {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  static JsonNode json(HttpResponse<String> r) throws IOException {
    return Json.MAPPER.readTree(r.body());
  }

  long count(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  List<String> strings(String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static void awaitTrue(String what, Duration timeout, Await.Check check) throws Exception {
    Await.until(what, timeout, check);
  }

  void kill(Server s) throws InterruptedException {
    s.process().destroyForcibly();
    s.process().waitFor();
  }

  @Override
  public void close() throws Exception {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor();
        }
      }
    }
  }
}
