package dev.kiln.workers.server;

import static dev.kiln.workers.server.Servers.awaitTrue;
import static dev.kiln.workers.server.Servers.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.WebhookAuth;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/security.md, "Who can do what", "Webhooks" and "Errors don't leak", against a real kiln
 * server process on loopback and a real PostgreSQL: tokens, roles endpoint by endpoint, JSON-only
 * writes, the error shape, and signed webhooks over the raw bytes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecurityTest {
  @TempDir static Path home;
  @TempDir static Path dir;
  Servers servers;
  Servers.Server server;
  HttpResponse<String> beforeAnyToken;
  String viewer;
  String operator;
  String admin;
  long runId;

  /** The /api/ routes and the least role each needs (the route table's, seen from outside). */
  record Endpoint(String method, String path, Role needs) {}

  List<Endpoint> endpoints;

  @BeforeAll
  void startServer() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    Files.writeString(
        pipelines.resolve("hello.yaml"),
        """
        name: hello
        params:
          who: { type: string, default: world }
        steps:
          greet:
            run: echo "hello, ${{ params.who }}"
        """);
    Files.writeString(
        pipelines.resolve("boom.yaml"),
        """
        name: boom
        steps:
          a: { run: echo never }
        """);
    Files.writeString(
        pipelines.resolve("hooks.yaml"),
        """
        name: hooks
        params:
          data: { type: string }
        triggers:
          - webhook:
              path: signed
              secret_env: HOOK_SECRET
              params: { data: "${{ body.data }}" }
          - webhook:
              path: stamped
              secret_env: HOOK_SECRET
              require_timestamp: true
              params: { data: "${{ body.data }}" }
        steps:
          a:
            run: echo "data=${{ params.data }}" >> "$KILN_OUTPUTS"
        """);
    servers = new Servers(home, dir, false);
    server = servers.start(pipelines);
    beforeAnyToken =
        servers.getWith(
            server.url() + "/api/runs/1", "Authorization", "Bearer kiln_" + "A".repeat(43));

    var created = servers.kiln.run("tokens", "create", "first-admin", "--role", "admin");
    assertThat(created.exit()).as(created.err()).isEqualTo(0);
    admin = lastLine(created.out());
    viewer = servers.createToken("viewer", Role.VIEWER);
    operator = servers.createToken("operator", Role.OPERATOR);
    var started = post("/api/pipelines/hello/runs", operator, "application/json", "{}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
    runId = json(started).get("run_id").asLong();

    endpoints =
        List.of(
            new Endpoint("GET", "/api/runs/" + runId, Role.VIEWER),
            new Endpoint("POST", "/api/pipelines/hello/runs", Role.OPERATOR));
  }

  @AfterAll
  void stopServer() throws Exception {
    servers.close();
  }

  private static String lastLine(String out) {
    String[] lines = out.strip().split("\n");
    return lines[lines.length - 1];
  }

  private long runs() throws Exception {
    return servers.count("select count(*) from runs");
  }

  private HttpResponse<String> post(String path, String token, String contentType, String body)
      throws Exception {
    List<String> headers = new ArrayList<>();
    if (token != null) {
      headers.addAll(List.of("Authorization", "Bearer " + token));
    }
    if (contentType != null) {
      headers.addAll(List.of("Content-Type", contentType));
    }
    return servers.post(
        server.url() + path, body.getBytes(StandardCharsets.UTF_8), headers.toArray(String[]::new));
  }

  private HttpResponse<String> call(Endpoint e, String... headers) throws Exception {
    if (e.method().equals("GET")) {
      return servers.getWith(server.url() + e.path(), headers);
    }
    List<String> h = new ArrayList<>(Arrays.asList(headers));
    h.addAll(List.of("Content-Type", "application/json"));
    return servers.post(
        server.url() + e.path(), "{}".getBytes(StandardCharsets.UTF_8), h.toArray(String[]::new));
  }

  private static void assertError(HttpResponse<String> r, int status) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(json(r).get("status").asInt()).isEqualTo(status);
    assertThat(json(r).get("error").asText()).isNotBlank();
    assertThat(json(r).size()).as(r.body()).isEqualTo(2);
  }

  @Test
  void aServerWithoutAnyTokenRefusesTheApiWith503AndSaysHowToCreateOne() throws Exception {
    assertError(beforeAnyToken, 503);
    assertThat(json(beforeAnyToken).get("error").asText())
        .isEqualTo(
            "no API token exists: run 'kiln tokens create NAME --role admin' on the server's"
                + " database");
  }

  @Test
  void healthIsOpenAndSaysOnlyOk() throws Exception {
    var r = servers.getWith(server.url() + "/health");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body().strip()).isEqualTo("{\"status\":\"ok\"}");
  }

  @Test
  void missingMalformedAndForgedTokensGet401OnEveryEndpointAndWriteNothing() throws Exception {
    long before = runs();
    String forged = "kiln_" + "x".repeat(43);
    for (Endpoint e : endpoints) {
      List<HttpResponse<String>> answers =
          List.of(
              call(e),
              call(e, "Authorization", ""),
              call(e, "Authorization", "Bearer"),
              call(e, "Authorization", "Bearer not-a-token"),
              call(e, "Authorization", "Basic " + admin),
              call(e, "Authorization", admin),
              call(e, "Authorization", "Bearer " + forged),
              call(e, "Authorization", "Bearer " + admin + "x"));
      for (var r : answers) {
        assertError(r, 401);
      }
    }
    assertThat(runs()).isEqualTo(before);
  }

  @Test
  void eachRoleGetsExactlyItsEndpoints() throws Exception {
    for (Endpoint e : endpoints) {
      for (var entry :
          List.of(
              new Object[] {Role.VIEWER, viewer},
              new Object[] {Role.OPERATOR, operator},
              new Object[] {Role.ADMIN, admin})) {
        Role role = (Role) entry[0];
        long before = runs();
        var r = call(e, "Authorization", "Bearer " + entry[1]);
        if (role.allows(e.needs())) {
          assertThat(r.statusCode()).as(role + " " + e + ": " + r.body()).isIn(200, 202);
        } else {
          assertError(r, 403);
          assertThat(json(r).get("error").asText())
              .isEqualTo("token '" + role.db() + "' has role viewer; this request needs operator");
          assertThat(runs()).as("a refused request writes no run").isEqualTo(before);
        }
      }
    }
  }

  @Test
  void aViewerCannotStartARunAndNoRowIsWritten() throws Exception {
    long before = runs();
    long tasks = servers.count("select count(*) from tasks");
    var r = post("/api/pipelines/hello/runs", viewer, "application/json", "{\"who\": \"v\"}");
    assertError(r, 403);
    assertThat(runs()).isEqualTo(before);
    assertThat(servers.count("select count(*) from tasks")).isEqualTo(tasks);
  }

  @Test
  void aRevokedTokenIsRefusedWithinFiveSeconds() throws Exception {
    String token = servers.createToken("short-lived", Role.VIEWER);
    var ok =
        servers.getWith(server.url() + "/api/runs/" + runId, "Authorization", "Bearer " + token);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);

    var revoked = servers.kiln.run("tokens", "revoke", "short-lived");
    assertThat(revoked.exit()).as(revoked.err()).isEqualTo(0);
    long at = System.nanoTime();
    awaitTrue(
        "the revoked token to be refused",
        Duration.ofSeconds(10),
        () ->
            servers
                    .getWith(
                        server.url() + "/api/runs/" + runId, "Authorization", "Bearer " + token)
                    .statusCode()
                == 401);
    // The server remembers a verified token for 5 s (docs/security.md); a revocation counts from
    // the CLI's commit, which came before `at`.
    assertThat(Duration.ofNanos(System.nanoTime() - at)).isLessThan(Duration.ofMillis(5_500));
    assertError(
        servers.getWith(server.url() + "/api/runs/" + runId, "Authorization", "Bearer " + token),
        401);
    var tokens = servers.kiln.run("tokens", "list");
    // name, role, created, last used, revoked: all three dates set
    assertThat(tokens.out())
        .containsPattern("short-lived +viewer +\\S+ \\S+Z +\\S+ \\S+Z +\\S+ \\S+Z");
  }

  @Test
  void aTokenInTheQueryStringIsRefusedWith400() throws Exception {
    long before = runs();
    String bearer = "Bearer " + operator;
    List<HttpResponse<String>> answers =
        List.of(
            servers.getWith(server.url() + "/api/runs/" + runId + "?token=" + operator),
            servers.getWith(
                server.url() + "/api/runs/" + runId + "?access_token=" + operator,
                "Authorization",
                bearer),
            servers.getWith(
                server.url() + "/api/runs/" + runId + "?Authorization=Bearer%20" + operator),
            servers.getWith(server.url() + "/health?token=" + operator),
            post("/api/pipelines/hello/runs?token=" + operator, operator, "application/json", "{}"),
            post("/api/pipelines/hello/runs?x=" + operator, null, "application/json", "{}"));
    for (var r : answers) {
      assertError(r, 400);
      assertThat(json(r).get("error").asText()).contains("only as the header");
    }
    assertThat(runs()).isEqualTo(before);
  }

  @Test
  void writesTakeJsonOnlySoCrossSiteFormAndTextPostsGet415AndWriteNothing() throws Exception {
    long before = runs();
    List<HttpResponse<String>> refused =
        List.of(
            post("/api/pipelines/hello/runs", operator, "text/plain", "{\"who\": \"csrf\"}"),
            post("/api/pipelines/hello/runs", operator, "text/plain;charset=UTF-8", "{}"),
            post("/api/pipelines/hello/runs", operator, "application/x-www-form-urlencoded", "a=b"),
            post("/api/pipelines/hello/runs", operator, "multipart/form-data; boundary=x", "--x--"),
            post("/api/pipelines/hello/runs", operator, null, "{}"));
    for (var r : refused) {
      assertError(r, 415);
    }
    assertThat(runs()).isEqualTo(before);

    var json = post("/api/pipelines/hello/runs", operator, "application/json; charset=utf-8", "{}");
    assertThat(json.statusCode()).as(json.body()).isEqualTo(202);
    assertThat(runs()).isEqualTo(before + 1);
  }

  @Test
  void aStoreFailureAnswers500WithAnIdAndTheServerLogHasTheCause() throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                servers.db.url(), servers.db.user(), servers.db.password());
        Statement st = c.createStatement()) {
      st.execute(
          "alter table runs add constraint security_test_refuses_boom check (pipeline <> 'boom')");
    }
    long before = runs();
    var r = post("/api/pipelines/boom/runs", operator, "application/json", "{}");

    assertError(r, 500);
    String error = json(r).get("error").asText();
    Matcher m =
        Pattern.compile("internal error, see the server log \\(id (\\d+)\\)").matcher(error);
    assertThat(m.matches()).as(error).isTrue();
    assertThat(r.body().toLowerCase())
        .doesNotContain("constraint", "sql", "violat", "postgres", "exception", "relation");
    assertThat(runs()).isEqualTo(before);
    awaitTrue(
        "the server log names the cause under id " + m.group(1),
        Duration.ofSeconds(10),
        () -> {
          String log = serverErr();
          int at = log.indexOf("internal error (id " + m.group(1) + ")");
          return at >= 0 && log.indexOf("security_test_refuses_boom", at) > at;
        });
  }

  @Test
  void tokensCliCreatesListsRevokesAndRefusesBadInput() throws Exception {
    var created = servers.kiln.run("tokens", "create", "ci", "--role", "operator");
    assertThat(created.exit()).as(created.err()).isEqualTo(0);
    String token = lastLine(created.out());
    assertThat(token).matches("kiln_[A-Za-z0-9_-]{43}");
    assertThat(created.out().strip()).isEqualTo(token);

    var again = servers.kiln.run("tokens", "create", "ci", "--role", "viewer");
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err().strip())
        .isEqualTo(
            "kiln: a token named 'ci' already exists; revoke it first ('kiln tokens revoke NAME')"
                + " or pick another name");
    var badRole = servers.kiln.run("tokens", "create", "ci2", "--role", "root");
    assertThat(badRole.exit()).isEqualTo(2);
    assertThat(badRole.err().strip())
        .isEqualTo("kiln: --role must be viewer, operator or admin, got 'root'");
    var badName = servers.kiln.run("tokens", "create", "a b", "--role", "viewer");
    assertThat(badName.exit()).isEqualTo(2);
    assertThat(badName.err()).contains("token name 'a b' must be");

    var list = servers.kiln.run("tokens", "list");
    assertThat(list.exit()).isEqualTo(0);
    assertThat(list.out()).containsPattern("(?m)^ci +operator ").doesNotContain(token);
    assertThat(servers.strings("select encode(token_sha256, 'hex') from api_tokens"))
        .contains(HexFormat.of().formatHex(TokenStore.sha256(token)))
        .doesNotContain(token);

    var unknown = servers.kiln.run("tokens", "revoke", "nope");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("no active token named 'nope'");
  }

  @Test
  void kilnRunWithServerSendsKilnTokenAndExplainsARefusalInOneLine() throws Exception {
    var ok =
        servers
            .kilnWith("KILN_TOKEN", operator)
            .run("run", "--server", server.url(), "hello", "-p", "who=remote", "--json");
    assertThat(ok.exit()).as(ok.err()).isEqualTo(0);
    assertThat(Json.MAPPER.readTree(ok.out()).get("status").asText()).isEqualTo("succeeded");

    var none = servers.kilnWith("KILN_TOKEN", "").run("run", "--server", server.url(), "hello");
    var weak = servers.kilnWith("KILN_TOKEN", viewer).run("run", "--server", server.url(), "hello");
    for (var r : List.of(none, weak)) {
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err().strip().lines()).hasSize(1);
      assertThat(r.err()).contains("set KILN_TOKEN").doesNotContain("Exception");
    }
    assertThat(none.err()).contains("(401: missing header");
    assertThat(weak.err()).contains("(403: token 'viewer' has role viewer");
  }

  @Test
  void tenThousandTokensStillAuthenticateQuickly() throws Exception {
    List<String> names = IntStream.range(0, 10_000).mapToObj(i -> "bulk-" + i).toList();
    List<String> tokens;
    try (Database db = servers.database()) {
      tokens = new TokenStore(db).createAll(names, Role.VIEWER);
    }
    assertThat(servers.count("select count(*) from api_tokens where name like 'bulk-%'"))
        .isEqualTo(10_000);

    // 200 different tokens: each one's first use is a look-up among 10,000 in the store; the
    // same request with one token the server already verified is the yardstick (the machine
    // running the tests may be busy, so the bound is relative).
    String runUrl = server.url() + "/api/runs/" + runId;
    long[] lookedUp = new long[200];
    long[] cached = new long[200];
    for (int i = 0; i < lookedUp.length; i++) {
      String token = tokens.get(tokens.size() - 1 - i * 37);
      long t0 = System.nanoTime();
      var r = servers.getWith(runUrl, "Authorization", "Bearer " + token);
      lookedUp[i] = System.nanoTime() - t0;
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      t0 = System.nanoTime();
      var again = servers.getWith(runUrl, "Authorization", "Bearer " + viewer);
      cached[i] = System.nanoTime() - t0;
      assertThat(again.statusCode()).isEqualTo(200);
    }
    Duration lookUp = median(lookedUp);
    Duration yardstick = median(cached);
    System.err.println("10,000 tokens: median request " + lookUp + ", cached token " + yardstick);
    assertThat(lookUp)
        .as("median request with a token looked up among 10,000")
        .isLessThan(yardstick.multipliedBy(2).plusMillis(5));
  }

  private static Duration median(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return Duration.ofNanos(sorted[sorted.length / 2]);
  }

  @Test
  void aFormEncodedOrTextDeliveryIsVerifiedOverItsRawBytes() throws Exception {
    long before = runs();
    String payload = "{\"data\": \"from-a-form\"}";
    byte[] form =
        ("payload=" + URLEncoder.encode(payload, StandardCharsets.UTF_8))
            .getBytes(StandardCharsets.UTF_8);
    var r =
        servers.post(
            server.url() + "/hooks/signed",
            form,
            "Content-Type",
            "application/x-www-form-urlencoded",
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, form));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    long run = json(r).get("run_id").asLong();
    assertThat(servers.strings("select params->>'data' from runs where id = " + run))
        .containsExactly("from-a-form");

    // Signed over the JSON inside instead of the bytes sent: refused.
    var parsedSigned =
        servers.post(
            server.url() + "/hooks/signed",
            form,
            "Content-Type",
            "application/x-www-form-urlencoded",
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, payload.getBytes(StandardCharsets.UTF_8)));
    assertError(parsedSigned, 401);

    byte[] text = payload.getBytes(StandardCharsets.UTF_8);
    var textSigned =
        servers.post(
            server.url() + "/hooks/signed",
            text,
            "Content-Type",
            "text/plain",
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, text));
    var textForged =
        servers.post(
            server.url() + "/hooks/signed",
            text,
            "Content-Type",
            "text/plain",
            "X-Hub-Signature-256",
            WebhookAuth.sign("wrong", text));
    assertError(textSigned, 415); // verified, then refused for its type
    assertError(textForged, 401);
    assertThat(runs()).isEqualTo(before + 1);
  }

  @Test
  void aTimestampedHookRefusesAReplayOutsideFiveMinutes() throws Exception {
    long before = runs();
    byte[] body = "{\"data\": \"stamped\"}".getBytes(StandardCharsets.UTF_8);
    long now = Instant.now().getEpochSecond();
    String hook = server.url() + "/hooks/stamped";

    var fresh =
        servers.post(
            hook,
            body,
            "Content-Type",
            "application/json",
            "X-Kiln-Timestamp",
            Long.toString(now),
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, now, body));
    assertThat(fresh.statusCode()).as(fresh.body()).isEqualTo(202);

    long old = now - 6 * 60;
    var replayed =
        servers.post(
            hook,
            body,
            "X-Kiln-Timestamp",
            Long.toString(old),
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, old, body));
    var retimed =
        servers.post(
            hook,
            body,
            "X-Kiln-Timestamp",
            Long.toString(now),
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, old, body));
    var bodyOnly =
        servers.post(
            hook,
            body,
            "X-Kiln-Timestamp",
            Long.toString(now),
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, body));
    var noStamp =
        servers.post(hook, body, "X-Hub-Signature-256", WebhookAuth.sign(Servers.SECRET, body));
    for (var r : List.of(replayed, retimed, bodyOnly, noStamp)) {
      assertError(r, 401);
    }
    assertThat(json(replayed).get("error").asText()).contains("more than 5 minutes");
    assertThat(runs()).isEqualTo(before + 1);
  }

  private String serverErr() throws Exception {
    StringBuilder sb = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith("err-")).toList()) {
        sb.append(Files.readString(f));
      }
    }
    return sb.toString();
  }
}
