package dev.kiln.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document against a real server in this JVM on a real PostgreSQL: the routes Camel
 * serves and the operations the document lists are the same set, both ways; every route has its
 * description; the rendered reference is served from the webjar.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiTest {
  @TempDir static Path home;
  Database db;
  Engine engine;
  KilnServer server;
  String viewer;
  String base;
  final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    TestDb.Url url = TestDb.freshUrl();
    db = Database.connect(url.url(), url.user(), url.password(), 4);
    engine = new Engine(new KilnConfig(home, url.url(), url.user(), url.password()), db);
    viewer = new TokenStore(db).create("viewer", Role.VIEWER);
    Path pipelines = Files.createDirectories(home.resolve("pipelines"));
    server =
        new KilnServer(
            engine, new KilnServer.Options("127.0.0.1", 0, pipelines, 0, Map.of()), System.err);
    server.start();
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterAll
  void stop() {
    server.close();
    db.close();
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theDocumentListsExactlyTheRoutesTheServerServes() throws Exception {
    HttpResponse<String> r = get("/api/openapi.json", viewer);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode doc = Json.MAPPER.readTree(r.body());
    assertThat(doc.get("openapi").asText()).isEqualTo("3.1.0");
    TreeSet<String> documented = new TreeSet<>();
    doc.get("paths")
        .fields()
        .forEachRemaining(
            p ->
                p.getValue()
                    .fieldNames()
                    .forEachRemaining(
                        m -> documented.add(m.toUpperCase(Locale.ROOT) + " " + p.getKey())));
    assertThat(documented).isEqualTo(new TreeSet<>(server.servedRoutes()));
    assertThat(documented)
        .contains("GET /api/runs", "POST /api/models/{name}/aliases/{alias}", "GET /metrics");
    JsonNode promote = doc.at("/paths/~1api~1models~1{name}~1aliases~1{alias}/post");
    assertThat(promote.get("x-kiln-role").asText()).isEqualTo("admin");
    assertThat(doc.at("/paths/~1health/get/security").size()).isZero();
  }

  @Test
  void everyRouteHasItsDescriptionAndEveryDescriptionItsRoute() {
    List<String> table = new ArrayList<>();
    HttpApi api = new HttpApi(null, null, null, null, null, (a, role) -> {});
    for (Routes.Route r : KilnServer.routeTable(api, null, null, h -> "x", () -> "", false)) {
      table.add(OpenApi.key(r));
    }
    assertThat(new TreeSet<>(table)).isEqualTo(new TreeSet<>(OpenApi.DOCS.keySet()));
  }

  @Test
  void theDocumentNeedsAViewerTokenThePageAndItsFilesAreOpen() throws Exception {
    assertThat(get("/api/openapi.json", null).statusCode()).isEqualTo(401);
    HttpResponse<String> page = get("/api/docs", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(page.body()).contains("/api/docs/swagger-ui-bundle.js", "/api/openapi.json");
    assertThat(page.body()).doesNotContain("http://", "https://");
    HttpResponse<String> js = get("/api/docs/swagger-ui-bundle.js", null);
    assertThat(js.statusCode()).isEqualTo(200);
    assertThat(js.body()).contains("SwaggerUIBundle");
    String version =
        new String(
                OpenApiTest.class
                    .getResourceAsStream("/META-INF/maven/org.webjars/swagger-ui/pom.properties")
                    .readAllBytes())
            .lines()
            .filter(l -> l.startsWith("version="))
            .findFirst()
            .orElseThrow()
            .substring(8);
    try (var in =
        OpenApiTest.class.getResourceAsStream(
            "/META-INF/resources/webjars/swagger-ui/" + version + "/swagger-ui-bundle.js")) {
      // Streamed in chunks, byte for byte.
      assertThat(js.body()).isEqualTo(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    HttpResponse<String> other = get("/api/docs/index.html", null);
    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(Json.MAPPER.readTree(other.body()).get("status").asInt()).isEqualTo(404);
  }

  @Test
  void metricsNeedAViewerTokenAndAnswerInPrometheusTextFormat() throws Exception {
    assertThat(get("/metrics", null).statusCode()).isEqualTo(401);
    HttpResponse<String> m = get("/metrics", viewer);
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(m.body()).contains("# TYPE jvm_memory_used_bytes gauge", "hikaricp_connections");
  }

  @Test
  void queueDepthAndAgeAreReadFromTheStoreAtScrapeTime() throws Exception {
    // This server runs no workers (slots 0): the run's first step stays queued.
    Pipeline p =
        PipelineParser.parse("q.yaml", "name: q\nsteps:\n  a: { run: echo, queue: gpu }\n")
            .orThrow();
    engine.runs().createRun(p, Map.of(), "api", home.toString());
    Await.until(
        "kiln_queue_depth{queue=\"gpu\"} 1.0 within the 2 s refresh",
        Duration.ofSeconds(10),
        () -> get("/metrics", viewer).body().contains("kiln_queue_depth{queue=\"gpu\"} 1.0"));
    String m = get("/metrics", viewer).body();
    assertThat(m).containsPattern("kiln_queue_oldest_age_seconds\\{queue=\"gpu\"} [0-9.]+");
    assertThat(m).contains("kiln_runs_started_total{pipeline=\"q\",trigger=\"api\"} 1.0");
  }
}
