package dev.kiln.workers.server;

import static dev.kiln.workers.server.Servers.awaitTrue;
import static dev.kiln.workers.server.Servers.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.Role;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/api.md and docs/metrics.md against a real kiln server process on loopback and a real
 * PostgreSQL: every resource endpoint with its status codes, roles, pagination, 400s that name the
 * parameter, 404s in the one error shape, logs as text, JSON pages and server-sent events, and the
 * counters /metrics shows after real runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiTest {
  @TempDir static Path home;
  @TempDir static Path dir;
  Servers servers;
  String url;
  String viewer;
  String admin;
  final List<Long> hello = new ArrayList<>();
  long logsRun;
  long boomRun;

  @BeforeAll
  void start() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    Files.writeString(
        pipelines.resolve("hello.yaml"),
        """
        name: hello
        steps:
          greet: { run: echo hello }
        """);
    Files.writeString(
        pipelines.resolve("logs.yaml"),
        """
        name: logs
        steps:
          a:
            run: |
              i=1; while [ $i -le 2500 ]; do echo "line $i"; i=$((i+1)); done
              echo "acc=0.9" >> "$KILN_METRICS"
              echo hi > "$KILN_ARTIFACTS/out.txt"
              mkdir -p "$KILN_ARTIFACTS/model/sub"
              echo w > "$KILN_ARTIFACTS/model/weights.txt"
              echo '{}' > "$KILN_ARTIFACTS/model/sub/config.json"
          b: { needs: [a], run: echo b }
        """);
    Files.writeString(
        pipelines.resolve("slow.yaml"),
        """
        name: slow
        steps:
          s: { run: "echo start; sleep 3; echo done" }
        """);
    Files.writeString(
        pipelines.resolve("boom.yaml"),
        """
        name: boom
        steps:
          a: { run: "echo no; exit 3" }
        """);
    Files.writeString(
        pipelines.resolve("ping.yaml"),
        """
        name: ping
        triggers:
          - cron: "0 3 * * *"
            timezone: Europe/Berlin
          - webhook: { path: ping, auth: none }
        steps:
          a: { run: echo pong }
        """);
    servers = new Servers(home, dir);
    url = servers.start(pipelines).url();
    viewer = servers.createToken("viewer", Role.VIEWER);
    admin = servers.createToken("admin", Role.ADMIN);
    for (int i = 0; i < 5; i++) {
      hello.add(startRun("hello"));
    }
    logsRun = startRun("logs");
    boomRun = startRun("boom");
    for (long id : List.of(hello.get(4), logsRun, boomRun)) {
      awaitEnded(id);
    }
    try (Database db = servers.database()) {
      ModelRegistry models = new ModelRegistry(db);
      for (int v = 1; v <= 2; v++) {
        models.register(
            new ModelRegistry.NewVersion(
                "churn", "ab".repeat(32), 1, "file", null, null, null, Map.of(), null, "t", null));
      }
      models.promote("churn", 1, "production", "tests", "first");
      new DatasetRegistry(db)
          .record(
              new DatasetRegistry.NewVersion(
                  "customers",
                  "cd".repeat(32),
                  10,
                  "file",
                  3L,
                  List.of(new DatasetVersion.Column("age", "BIGINT")),
                  "/data/customers.csv",
                  null,
                  null));
      new MonitorStore(db)
          .record(
              new MonitorStore.Check(
                  "churn-drift",
                  "drift",
                  null,
                  null,
                  true,
                  0.5,
                  Map.of("columns", 2),
                  List.of(new MonitorStore.Value("age", "ks", 0.4, 0.001, 0.05, true))));
    }
  }

  @AfterAll
  void stop() throws Exception {
    servers.close();
  }

  private long startRun(String pipeline) throws Exception {
    var r = servers.postJson(url + "/api/pipelines/" + pipeline + "/runs", "{}".getBytes());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    return json(r).get("run_id").asLong();
  }

  private void awaitEnded(long id) throws Exception {
    awaitTrue(
        "run " + id + " ends",
        Duration.ofSeconds(60),
        () ->
            json(get("/api/runs/" + id, viewer))
                .get("status")
                .asText()
                .matches("succeeded|failed|cancelled"));
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    return token == null
        ? servers.getWith(url + path)
        : servers.getWith(url + path, "Authorization", "Bearer " + token);
  }

  private HttpResponse<String> post(String path, String token, String body) throws Exception {
    return servers.post(
        url + path,
        body.getBytes(StandardCharsets.UTF_8),
        "Authorization",
        "Bearer " + token,
        "Content-Type",
        "application/json");
  }

  private static JsonNode ok(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isBetween(200, 202);
    return json(r);
  }

  private static void assertError(HttpResponse<String> r, int status, String mentions)
      throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    JsonNode j = json(r);
    assertThat(j.get("status").asInt()).isEqualTo(status);
    assertThat(j.get("error").asText()).contains(mentions);
    assertThat(j.size()).isEqualTo(2);
  }

  @Test
  void theRunListPaginatesOnTheServerWithAnOpaqueCursor() throws Exception {
    List<Long> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonNode page =
          ok(
              get(
                  "/api/runs?pipeline=hello&limit=2" + (cursor == null ? "" : "&cursor=" + cursor),
                  viewer));
      page.get("runs").forEach(r -> seen.add(r.get("run_id").asLong()));
      assertThat(page.get("runs").size()).isLessThanOrEqualTo(2);
      cursor = page.get("next").isNull() ? null : page.get("next").asText();
      pages++;
    } while (cursor != null && pages < 10);
    assertThat(pages).isEqualTo(3);
    List<Long> newestFirst = new ArrayList<>(hello);
    Collections.reverse(newestFirst);
    assertThat(seen).containsExactlyElementsOf(newestFirst);
    JsonNode failed = ok(get("/api/runs?status=failed", viewer));
    assertThat(failed.get("runs"))
        .allSatisfy(r -> assertThat(r.get("status").asText()).isEqualTo("failed"));
    assertThat(failed.get("runs").findValuesAsText("pipeline")).contains("boom");
  }

  @Test
  void badListParametersAre400sNamingTheParameter() throws Exception {
    assertError(get("/api/runs?limit=0", viewer), 400, "'limit'");
    assertError(get("/api/runs?limit=501", viewer), 400, "'limit'");
    assertError(get("/api/runs?limit=ten", viewer), 400, "'limit'");
    assertError(get("/api/runs?status=done", viewer), 400, "'status'");
    assertError(get("/api/runs?cursor=bm9wZQ", viewer), 400, "'cursor'");
    assertError(get("/api/runs/abc", viewer), 400, "'abc'");
    assertError(get("/api/runs/999999", viewer), 404, "no run 999999");
    assertError(get("/api/runs/999999/logs/a", viewer), 404, "no run 999999");
    assertError(get("/api/runs/" + logsRun + "/logs/nope", viewer), 404, "'nope'");
    assertError(get("/api/runs", null), 401, "Authorization");
  }

  @Test
  void aTasksLogComesAsTextAsJsonPagesAndItsAttemptsAreListed() throws Exception {
    HttpResponse<String> text = get("/api/runs/" + logsRun + "/logs/a", viewer);
    assertThat(text.statusCode()).isEqualTo(200);
    assertThat(text.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    List<String> lines = text.body().lines().filter(l -> l.startsWith("line ")).toList();
    assertThat(lines).hasSize(2500).startsWith("line 1", "line 2").endsWith("line 2500");
    JsonNode page = ok(get("/api/runs/" + logsRun + "/logs/a?format=json&limit=1000", viewer));
    assertThat(page.get("lines")).hasSize(1000);
    long next = page.get("next").asLong();
    JsonNode page2 =
        ok(get("/api/runs/" + logsRun + "/logs/a?format=json&limit=1000&after=" + next, viewer));
    assertThat(page2.get("lines").get(0).get("id").asLong()).isGreaterThan(next);
    assertThat(page2.get("lines").get(0).get("task").asText()).isEqualTo("a");
    assertError(get("/api/runs/" + logsRun + "/logs/a?format=xml", viewer), 400, "'format'");
    JsonNode attempts = ok(get("/api/runs/" + logsRun + "/tasks/a/attempts", viewer));
    assertThat(attempts.get("attempts")).hasSize(1);
    assertThat(attempts.get("attempts").get(0).get("status").asText()).isEqualTo("succeeded");
    JsonNode metrics = ok(get("/api/runs/" + logsRun + "/metrics", viewer));
    assertThat(metrics.at("/metrics/a/acc/0").asDouble()).isEqualTo(0.9);
    JsonNode events = ok(get("/api/runs/" + logsRun + "/events", viewer));
    assertThat(events.get("events").findValuesAsText("status")).contains("succeeded");
  }

  @Test
  void followingALogStreamsServerSentEventsThatEndWithTheTask() throws Exception {
    long id = startRun("slow");
    awaitTrue(
        "the slow step runs",
        Duration.ofSeconds(30),
        () ->
            json(get("/api/runs/" + id, viewer)).at("/steps/0/status").asText().equals("running"));
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(url + "/api/runs/" + id + "/logs/s?follow=true"))
            .header("Authorization", "Bearer " + viewer)
            .timeout(Duration.ofSeconds(60))
            .GET()
            .build();
    Instant t0 = Instant.now();
    HttpResponse<String> sse = servers.http.send(req, HttpResponse.BodyHandlers.ofString());
    assertThat(sse.statusCode()).isEqualTo(200);
    assertThat(sse.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
    assertThat(sse.body())
        .contains("event: line\ndata: {", "\"line\":\"start\"", "\"line\":\"done\"");
    assertThat(sse.body().strip()).endsWith("event: end\ndata: {}");
    assertThat(sse.body().indexOf("\"start\"")).isLessThan(sse.body().indexOf("\"done\""));
    // It waited for "done", which the step prints 3 s after "start".
    assertThat(Duration.between(t0, Instant.now())).isGreaterThan(Duration.ofMillis(500));
  }

  @Test
  void artifactsAreListedAndDownloaded() throws Exception {
    JsonNode list = ok(get("/api/runs/" + logsRun + "/artifacts", viewer));
    assertThat(list.get("artifacts").findValuesAsText("name")).containsExactly("model", "out.txt");
    HttpResponse<String> file = get("/api/runs/" + logsRun + "/artifacts/a/out.txt", viewer);
    assertThat(file.statusCode()).isEqualTo(200);
    assertThat(file.body()).isEqualTo("hi\n");
    assertThat(file.headers().firstValue("Content-Disposition").orElse("")).contains("out.txt");
    assertError(get("/api/runs/" + logsRun + "/artifacts/a/nope", viewer), 404, "nope");

    // A folder comes as a zip of its files, by relative path.
    HttpResponse<InputStream> zip =
        servers.http.send(
            HttpRequest.newBuilder(URI.create(url + "/api/runs/" + logsRun + "/artifacts/a/model"))
                .header("Authorization", "Bearer " + viewer)
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(zip.statusCode()).isEqualTo(200);
    assertThat(zip.headers().firstValue("Content-Type")).hasValue("application/zip");
    assertThat(zip.headers().firstValue("Content-Disposition").orElse(""))
        .contains("filename=\"model.zip\"");
    Map<String, String> entries = new TreeMap<>();
    try (ZipInputStream in = new ZipInputStream(zip.body())) {
      for (ZipEntry en; (en = in.getNextEntry()) != null; ) {
        entries.put(en.getName(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    assertThat(entries)
        .containsEntry("weights.txt", "w\n")
        .containsEntry("sub/config.json", "{}\n")
        .containsKey("sub/");
  }

  @Test
  void cancelRetryTagAndCompareNeedAnOperatorAndSayWhatTheyDid() throws Exception {
    long slow = startRun("slow");
    assertError(post("/api/runs/" + slow + "/cancel", viewer, "{}"), 403, "viewer");
    assertThat(
            ok(post("/api/runs/" + slow + "/cancel", servers.apiToken, "{}"))
                .get("status")
                .asText())
        .isEqualTo("cancelled");
    assertError(
        post("/api/runs/" + slow + "/cancel", servers.apiToken, "{}"), 409, "already finished");
    assertError(post("/api/runs/999999/cancel", servers.apiToken, "{}"), 404, "no run");

    JsonNode retried = ok(post("/api/runs/" + boomRun + "/retry", servers.apiToken, "{}"));
    assertThat(retried.get("retry_of").asLong()).isEqualTo(boomRun);
    assertThat(retried.get("run_id").asLong()).isNotEqualTo(boomRun);
    assertError(
        post("/api/runs/" + hello.get(0) + "/retry", servers.apiToken, "{}"), 409, "succeeded");

    JsonNode tagged =
        ok(
            post(
                "/api/runs/" + hello.get(1) + "/tags",
                servers.apiToken,
                "{\"set\": {\"team\": \"blue\"}}"));
    assertThat(tagged.at("/tags/team").asText()).isEqualTo("blue");
    JsonNode byTag = ok(get("/api/runs?tag=team:blue", viewer));
    assertThat(byTag.get("runs").findValuesAsText("run_id"))
        .containsExactly(String.valueOf(hello.get(1)));
    assertError(
        post("/api/runs/" + hello.get(1) + "/tags", servers.apiToken, "{\"set\": 3}"),
        400,
        "'set'");
    assertError(post("/api/runs/" + hello.get(1) + "/tags", viewer, "{}"), 403, "operator");

    JsonNode cmp = ok(get("/api/runs/" + logsRun + "/compare?with=" + hello.get(0), viewer));
    assertThat(cmp.get("runs")).hasSize(2);
    assertThat(cmp.at("/runs/0/metrics/acc").asDouble()).isEqualTo(0.9);
    assertError(get("/api/runs/" + logsRun + "/compare?with=x", viewer), 400, "'with'");
  }

  @Test
  void pipelinesTheirYamlTriggersNextFireTimesAndFirings() throws Exception {
    JsonNode all = ok(get("/api/pipelines", viewer));
    assertThat(all.get("pipelines").findValuesAsText("name"))
        .containsExactly("boom", "hello", "logs", "ping", "slow");
    HttpResponse<String> yaml = get("/api/pipelines/ping/yaml", viewer);
    assertThat(yaml.body()).contains("name: ping", "webhook:");
    JsonNode triggers = ok(get("/api/pipelines/ping/triggers?count=3", viewer));
    JsonNode next = triggers.at("/triggers/0/next");
    assertThat(next).hasSize(3);
    Instant first = Instant.parse(next.get(0).asText());
    assertThat(Instant.parse(next.get(1).asText())).isAfter(first);
    assertThat(triggers.at("/triggers/1/path").asText()).isEqualTo("/hooks/ping");
    var hook =
        servers.post(url + "/hooks/ping", "{}".getBytes(), "Content-Type", "application/json");
    assertThat(hook.statusCode()).as(hook.body()).isEqualTo(202);
    JsonNode firings = ok(get("/api/pipelines/ping/firings", viewer));
    assertThat(firings.get("firings").findValuesAsText("trigger")).contains("webhook");
    assertError(get("/api/pipelines/nope", viewer), 404, "'nope'");
    assertError(get("/api/pipelines/ping/triggers?count=0", viewer), 400, "'count'");
  }

  @Test
  void aViewerCannotPromoteAndNothingChangesAnAdminCanAndTheHistoryGrows() throws Exception {
    JsonNode before = ok(get("/api/models/churn/aliases/production/history", viewer));
    assertThat(before.get("history")).hasSize(1);
    String body = "{\"version\": 2, \"reason\": \"better auc\"}";
    assertError(post("/api/models/churn/aliases/production", viewer, body), 403, "admin");
    assertError(post("/api/models/churn/aliases/production", servers.apiToken, body), 403, "admin");
    assertThat(ok(get("/api/models/churn", viewer)).at("/aliases/production").asInt()).isEqualTo(1);
    assertThat(ok(get("/api/models/churn/aliases/production/history", viewer)).get("history"))
        .hasSize(1);

    JsonNode moved = ok(post("/api/models/churn/aliases/production", admin, body));
    assertThat(moved.get("to_version").asInt()).isEqualTo(2);
    JsonNode history =
        ok(get("/api/models/churn/aliases/production/history", viewer)).get("history");
    assertThat(history).hasSize(2);
    assertThat(history.findValuesAsText("who")).contains("admin");
    assertThat(history.findValuesAsText("why")).contains("better auc");
    JsonNode back =
        ok(post("/api/models/churn/aliases/production/rollback", admin, "{\"reason\": \"oops\"}"));
    assertThat(back.get("to_version").asInt()).isEqualTo(1);

    assertError(
        post("/api/models/churn/aliases/production", admin, "{\"version\": \"x\"}"),
        400,
        "'version'");
    assertError(
        post("/api/models/churn/aliases/production", admin, "{\"version\": 9}"),
        404,
        "no version 9");
    assertError(
        post("/api/models/nope/aliases/production", admin, "{\"version\": 1}"), 404, "'nope'");
  }

  @Test
  void modelsVersionsLineageDatasetsAndMonitoring() throws Exception {
    JsonNode models = ok(get("/api/models", viewer));
    assertThat(models.get("models")).hasSize(1);
    assertThat(models.at("/models/0/name").asText()).isEqualTo("churn");
    JsonNode churn = ok(get("/api/models/churn", viewer));
    assertThat(churn.get("versions")).hasSize(2);
    assertThat(ok(get("/api/models/churn/versions/2", viewer)).get("version").asInt()).isEqualTo(2);
    assertThat(ok(get("/api/models/churn/versions/1/lineage", viewer)).has("run")).isTrue();
    assertError(get("/api/models/churn/versions/7", viewer), 404, "no version 7");
    assertError(get("/api/models/churn/versions/x", viewer), 400, "'version'");
    assertError(get("/api/models/nope", viewer), 404, "'nope'");

    JsonNode datasets = ok(get("/api/datasets", viewer));
    assertThat(datasets.get("datasets")).hasSize(1);
    assertThat(datasets.at("/datasets/0/name").asText()).isEqualTo("customers");
    JsonNode v1 = ok(get("/api/datasets/customers/versions/1", viewer));
    assertThat(v1.at("/schema/0/name").asText()).isEqualTo("age");
    assertThat(v1.get("rows").asLong()).isEqualTo(3);
    assertThat(ok(get("/api/datasets/customers", viewer)).get("versions")).hasSize(1);
    assertError(get("/api/datasets/customers/versions/2", viewer), 404, "version 2");
    assertError(get("/api/datasets/nope", viewer), 404, "'nope'");

    JsonNode monitors = ok(get("/api/monitors", viewer));
    assertThat(monitors.at("/monitors/0/name").asText()).isEqualTo("churn-drift");
    assertThat(monitors.at("/monitors/0/incident_open").asBoolean()).isTrue();
    JsonNode reports = ok(get("/api/monitors/churn-drift/reports", viewer));
    assertThat(reports.at("/reports/0/values/0/name").asText()).isEqualTo("age");
    long reportId = reports.at("/reports/0/id").asLong();
    assertThat(ok(get("/api/drift/reports/" + reportId, viewer)).at("/report/columns").asInt())
        .isEqualTo(2);
    assertThat(ok(get("/api/monitors/churn-drift/incidents", viewer)).get("incidents")).hasSize(1);
    assertError(get("/api/monitors/nope/reports", viewer), 404, "'nope'");
    assertError(get("/api/drift/reports/999999", viewer), 404, "999999");
  }

  @Test
  void adminsManageTokensOverHttpAndATokenIsShownOnlyOnce() throws Exception {
    String body = "{\"name\": \"ci\", \"role\": \"viewer\"}";
    assertError(post("/api/tokens", servers.apiToken, body), 403, "admin");
    var created = post("/api/tokens", admin, body);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String token = json(created).get("token").asText();
    assertThat(token).startsWith("kiln_");
    assertThat(get("/api/runs?limit=1", token).statusCode()).isEqualTo(200);
    assertError(post("/api/tokens", admin, body), 409, "already exists");
    assertError(post("/api/tokens", admin, "{\"name\": \"x\", \"role\": \"root\"}"), 400, "'role'");
    HttpResponse<String> list = get("/api/tokens", admin);
    assertThat(ok(list).get("tokens").findValuesAsText("name")).contains("ci", "viewer", "admin");
    assertThat(list.body()).doesNotContain("kiln_");
    assertError(get("/api/tokens", viewer), 403, "admin");
    assertThat(ok(post("/api/tokens/ci/revoke", admin, "{}")).get("revoked").asBoolean()).isTrue();
    awaitTrue(
        "a revoked token is refused within the 5 s cache",
        Duration.ofSeconds(15),
        () -> get("/api/runs?limit=1", token).statusCode() == 401);
    assertError(post("/api/tokens/ci/revoke", admin, "{}"), 404, "'ci'");
  }

  @Test
  void metricsAfterRunsShowTheCountersWithBoundedLabels() throws Exception {
    assertThat(get("/metrics", null).statusCode()).isEqualTo(401);
    servers.post(url + "/hooks/ping", "{}".getBytes(), "Content-Type", "application/json");
    String m = get("/metrics", viewer).body();
    assertThat(value(m, "kiln_runs_started_total", "pipeline=\"hello\",trigger=\"api\""))
        .isGreaterThanOrEqualTo(5);
    assertThat(value(m, "kiln_runs_finished_total", "pipeline=\"hello\",status=\"succeeded\""))
        .isGreaterThanOrEqualTo(5);
    assertThat(value(m, "kiln_runs_finished_total", "pipeline=\"boom\",status=\"failed\""))
        .isGreaterThanOrEqualTo(1);
    assertThat(
            value(
                m,
                "kiln_step_duration_seconds_count",
                "pipeline=\"logs\",status=\"succeeded\",step=\"a\""))
        .isEqualTo(1);
    assertThat(m)
        .contains(
            "kiln_step_duration_seconds_bucket{pipeline=\"logs\",status=\"succeeded\",step=\"a\",le=");
    assertThat(
            value(
                m,
                "kiln_trigger_firings_total",
                "outcome=\"started\",pipeline=\"ping\",trigger=\"webhook\""))
        .isGreaterThanOrEqualTo(1);
    assertThat(value(m, "kiln_webhook_responses_total", "status=\"202\""))
        .isGreaterThanOrEqualTo(1);
    assertThat(value(m, "kiln_monitor_drift_share", "monitor=\"churn-drift\"")).isEqualTo(0.5);
    assertThat(
            value(m, "kiln_worker_slots", "state=\"free\"")
                + value(m, "kiln_worker_slots", "state=\"busy\""))
        .isEqualTo(4);
    assertThat(m).contains("jvm_memory_used_bytes", "hikaricp_connections_active");
    Set<String> labels = new HashSet<>();
    Matcher lm = Pattern.compile("([a-z_]+)=\"").matcher(m);
    while (lm.find()) {
      labels.add(lm.group(1));
    }
    assertThat(labels).doesNotContain("run_id", "run", "task_id");
  }

  private static double value(String metrics, String name, String labels) {
    Matcher v =
        Pattern.compile(
                "^" + Pattern.quote(name + "{" + labels) + "[,}][^ ]* ([0-9.eE+-]+)$",
                Pattern.MULTILINE)
            .matcher(metrics);
    if (!v.find()) {
      throw new AssertionError(
          "no "
              + name
              + "{"
              + labels
              + "...} in\n"
              + metrics.lines().filter(l -> l.startsWith("kiln_")).toList());
    }
    return Double.parseDouble(v.group(1));
  }
}
