package dev.kiln.web;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.TestDb;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real kiln server for the UI tests: embedded PostgreSQL, the test pipelines, in-process workers
 * (process executor), and one token per role.
 */
final class UiServer implements AutoCloseable {
  private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");
  final Engine engine;
  final KilnServer server;
  final String base;
  final Map<Role, String> tokens = new HashMap<>();
  final Path home;
  final HttpClient http =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  UiServer(Path home, int slots, Map<String, String> env) throws Exception {
    this.home = home;
    Path pipelines = home.resolve("pipelines");
    Files.createDirectories(pipelines);
    for (String f : new String[] {"hello.yaml", "broken.yaml", "follow.yaml"}) {
      try (InputStream in = UiServer.class.getResourceAsStream("/ui-pipelines/" + f)) {
        Files.write(pipelines.resolve(f), in.readAllBytes());
      }
    }
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh(16));
    TokenStore ts = new TokenStore(engine.db());
    for (Role r : Role.values()) {
      tokens.put(r, ts.create("ui-" + r.db(), r));
    }
    server =
        new KilnServer(
            engine,
            new KilnServer.Options("127.0.0.1", 0, pipelines, slots, env),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    server.start();
    base = "http://127.0.0.1:" + server.port();
  }

  /** Signs in with the role's token; returns the session cookie ({@code kiln_session=...}). */
  String login(Role role) throws IOException, InterruptedException {
    HttpResponse<String> r = post("/login", null, Map.of("token", tokens.get(role)));
    if (r.statusCode() != 303) {
      throw new IllegalStateException("login answered " + r.statusCode() + ": " + r.body());
    }
    String set = r.headers().firstValue("Set-Cookie").orElseThrow();
    return set.substring(0, set.indexOf(';'));
  }

  HttpResponse<String> get(String path, String cookie) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    if (cookie != null) {
      b.header("Cookie", cookie);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path, String cookie, Map<String, String> form)
      throws IOException, InterruptedException {
    StringBuilder body = new StringBuilder();
    form.forEach(
        (k, v) ->
            body.append(body.length() == 0 ? "" : "&")
                .append(URLEncoder.encode(k, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (cookie != null) {
      b.header("Cookie", cookie);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The CSRF token of a page's forms. */
  static String csrf(String html) {
    Matcher m = CSRF.matcher(html);
    if (!m.find()) {
      throw new IllegalStateException("no CSRF field in the page");
    }
    return m.group(1);
  }

  @Override
  public void close() {
    server.close();
    engine.close();
  }
}
