package dev.kiln.workers.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
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
  final Kiln kiln;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Process> started = new ArrayList<>();

  Servers(Path home, Path dir) {
    Map<String, String> env = new HashMap<>();
    env.put("KILN_HOME", home.toString());
    env.put("KILN_DB_URL", db.url());
    env.put("KILN_DB_USER", db.user());
    if (db.password() != null) {
      env.put("KILN_DB_PASSWORD", db.password());
    }
    env.put("HOOK_SECRET", SECRET);
    env.put("HOOK_TOKEN", TOKEN);
    kiln = new Kiln(env, dir);
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
    assertThat(get(url[0] + "/health").statusCode()).as("GET /health").isEqualTo(200);
    return new Server(p, url[0]);
  }

  private static final Pattern LISTENING =
      Pattern.compile(
          "^kiln server listening on (http://127\\.0\\.0\\.1:[1-9]\\d*) ", Pattern.MULTILINE);

  HttpResponse<String> get(String url) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(url)).GET().build());
  }

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
