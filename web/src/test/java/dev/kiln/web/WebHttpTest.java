package dev.kiln.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.Await;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pages over plain HTTP against a real server: login, roles, CSRF, escaping, 404s, expiry. */
class WebHttpTest {
  @TempDir static Path home;
  static UiServer ui;
  static long runId;

  @BeforeAll
  static void start() throws Exception {
    ui = new UiServer(home, 4, Map.of());
    String cookie = ui.login(Role.OPERATOR);
    String csrf = UiServer.csrf(ui.get("/pipelines/hello", cookie).body());
    HttpResponse<String> r =
        ui.post(
            "/pipelines/hello/runs",
            cookie,
            Map.of("csrf", csrf, "p.who", "<img src=x onerror=alert(2)>", "p.score", "8"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(303);
    String location = r.headers().firstValue("Location").orElseThrow();
    assertThat(location).matches("/runs/\\d+");
    runId = Long.parseLong(location.substring("/runs/".length()));
    Await.until("the run ends", Duration.ofSeconds(60), () -> ui.engine.store().ended(runId));
  }

  @AfterAll
  static void stop() {
    if (ui != null) {
      ui.close();
    }
  }

  @Test
  void loginSetsAnHttpOnlyStrictSessionCookieThatIsNotTheToken() throws Exception {
    HttpResponse<String> r = ui.post("/login", null, Map.of("token", ui.tokens.get(Role.VIEWER)));
    assertThat(r.statusCode()).isEqualTo(303);
    String cookie = r.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(cookie)
        .startsWith("kiln_session=")
        .contains("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=")
        .doesNotContain(ui.tokens.get(Role.VIEWER));
    assertThat(ui.get("/runs", cookie.substring(0, cookie.indexOf(';'))).statusCode())
        .isEqualTo(200);
  }

  @Test
  void anUnknownTokenGetsTheLoginFormAgainWithoutACookie() throws Exception {
    HttpResponse<String> r = ui.post("/login", null, Map.of("token", "kiln_notarealtoken"));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("Set-Cookie")).isEmpty();
    assertThat(r.body()).contains("unknown or revoked token");
  }

  @Test
  void aPageWithoutASessionSendsTheBrowserToTheLoginForm() throws Exception {
    HttpResponse<String> r = ui.get("/runs/" + runId, null);
    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.headers().firstValue("Location")).hasValue("/login?next=%2Fruns%2F" + runId);
    assertThat(ui.get("/runs", "kiln_session=forged").statusCode()).isEqualTo(303);
  }

  @Test
  void loginOnlyRedirectsToPathsOnThisServer() {
    assertThat(WebPages.next("//evil.example/x")).isEqualTo("/runs");
    assertThat(WebPages.next("https://evil.example/")).isEqualTo("/runs");
    assertThat(WebPages.next("/runs/4")).isEqualTo("/runs/4");
  }

  @Test
  void aMatrixValueThatIsAScriptTagAndHtmlInParamsAreShownAsText() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    String page = ui.get("/runs/" + runId, cookie).body();
    assertThat(page).doesNotContain("<script>alert(1)</script>").doesNotContain("<img src=x");
    assertThat(page).contains("&lt;img src=x onerror=alert(2)&gt;");
    // The engine names a matrix task with its value JSON-escaped; its log has the raw text.
    String task =
        ui.engine.store().tasks(runId).stream()
            .map(t -> t.stepId())
            .filter(t -> t.startsWith("evil[") && t.contains("script"))
            .findFirst()
            .orElseThrow();
    String selected = ui.get("/runs/" + runId + "?task=" + Html.query(task), cookie).body();
    assertThat(selected).contains("id=\"task-name\">" + task.replace("&", "&amp;"));
    String log = ui.get("/runs/" + runId + "/log?task=" + Html.query(task), cookie).body();
    assertThat(log).contains("matrix &lt;script&gt;alert(1)&lt;/script&gt;");
    assertThat(log).doesNotContain("<script>");
    HttpResponse<String> r = ui.get("/runs/" + runId, cookie);
    assertThat(r.headers().firstValue("Content-Security-Policy").orElseThrow())
        .contains("script-src 'self'");
  }

  @Test
  void logLinesWithHtmlAndAnsiCodesAreEscapedAndStripped() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    String log = ui.get("/runs/" + runId + "/log?task=greet", cookie).body();
    assertThat(log).contains("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;html&lt;/i&gt;");
    assertThat(log).contains("red alert").doesNotContain("\u001b").doesNotContain("[31m");
    String found = ui.get("/runs/" + runId + "/log?task=greet&q=NEEDLE", cookie).body();
    assertThat(found).contains("needle in the log").doesNotContain("hello,");
    String errs = ui.get("/runs/" + runId + "/log?task=greet&stream=stderr", cookie).body();
    assertThat(errs).contains("to stderr").doesNotContain("needle");
    HttpResponse<String> text = ui.get("/runs/" + runId + "/log.txt?task=greet", cookie);
    assertThat(text.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
    assertThat(text.headers().firstValue("Content-Disposition").orElseThrow())
        .contains("attachment");
    assertThat(text.body()).contains("needle in the log\n", "<b>bold</b>");
  }

  @Test
  void aSettledTasksLiveLogSendsItsLinesAsEventsThenEnds() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    HttpResponse<String> r =
        ui.get("/runs/" + runId + "/log/events?task=greet&stream=stdout", cookie);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("text/event-stream");
    assertThat(r.body())
        .contains("event: line", "needle in the log", "red alert")
        .doesNotContain("\\u001b", "to stderr")
        .endsWith("event: end\ndata: {}\n\n");
    // A search narrows the stream as it narrows the page.
    String found = ui.get("/runs/" + runId + "/log/events?task=greet&q=NEEDLE", cookie).body();
    assertThat(found).contains("needle in the log").doesNotContain("hello,");
    assertThat(ui.get("/runs/" + runId + "/log/events?task=greet", null).statusCode())
        .isEqualTo(303);
  }

  @Test
  void aFolderArtifactIsLinkedFromTheRunPageAndDownloadsAsAZip() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    String link = "/runs/" + runId + "/artifacts/greet/report";
    assertThat(ui.get("/runs/" + runId, cookie).body()).contains("href=\"" + link + "\"");
    HttpResponse<byte[]> zip =
        ui.http.send(
            HttpRequest.newBuilder(URI.create(ui.base + link)).header("Cookie", cookie).build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(zip.statusCode()).isEqualTo(200);
    assertThat(zip.headers().firstValue("Content-Disposition").orElseThrow())
        .contains("attachment", "filename=\"report.zip\"");
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip.body()))) {
      ZipEntry entry = in.getNextEntry();
      assertThat(entry.getName()).isEqualTo("index.html");
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("<h1>report</h1>\n");
    }
    assertThat(ui.get("/runs/" + runId + "/artifacts/greet/nope", cookie).statusCode())
        .isEqualTo(404);
    assertThat(ui.get(link, null).statusCode()).isEqualTo(303);
  }

  @Test
  void aMetricsMonitorChartsItsLateLabelPerformanceAndListsAlerts() throws Exception {
    MonitorStore monitors = new MonitorStore(ui.engine.db());
    for (double accuracy : new double[] {0.91, 0.84}) {
      monitors.record(
          new MonitorStore.Check(
              "churn-perf",
              "metrics",
              runId,
              "greet",
              accuracy < 0.86,
              null,
              Map.of("accuracy", accuracy),
              List.of(
                  new MonitorStore.Value(
                      "accuracy", "reference 0.9", accuracy, null, 0.85, accuracy < 0.86))));
    }
    String cookie = ui.login(Role.VIEWER);
    String page = ui.get("/monitoring/churn-perf", cookie).body();
    assertThat(page)
        .contains("Performance from late labels over time", "degraded", "id=\"alerts\"")
        .doesNotContain("Drift share over time");
    String chart = page.substring(page.indexOf("id=\"share-chart-data\""));
    assertThat(chart.substring(0, chart.indexOf("</script>")))
        .contains("\"label\":\"accuracy\"", "0.91", "0.84");
  }

  @Test
  void aDriftCheckThatAlertsARealReceiverShowsItsAlertOnTheMonitorPage() throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    HttpServer receiver =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext(
        "/hook",
        ex -> {
          received.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          ex.sendResponseHeaders(202, -1);
          ex.close();
        });
    receiver.start();
    try {
      StringBuilder reference = new StringBuilder("x\n");
      StringBuilder current = new StringBuilder("x\n");
      for (int i = 0; i < 200; i++) {
        reference.append(i).append('\n');
        current.append(i + 1000).append('\n');
      }
      Files.writeString(home.resolve("reference.csv"), reference);
      Files.writeString(home.resolve("current.csv"), current);
      Pipeline p =
          PipelineParser.parse(
                  "watch.yaml",
                  """
                  name: watch
                  steps:
                    drift:
                      uses: drift/check
                      with: { monitor: watched, reference: reference.csv, current: current.csv }
                    alert:
                      needs: [drift]
                      if: ${{ steps.drift.outputs.drifted }}
                      uses: notify/webhook
                      with:
                        url: http://127.0.0.1:%d/hook
                        message: "watched: drift in ${{ steps.drift.outputs.share_drifted }}"
                  """
                      .formatted(receiver.getAddress().getPort()))
              .orThrow();
      long run = ui.engine.runs().createRun(p, Map.of(), "manual", home.toString());
      Await.until(
          "the monitor run ends", Duration.ofSeconds(60), () -> ui.engine.store().ended(run));
      assertThat(received).hasSize(1);
      assertThat(received.get(0)).contains("watched: drift in ");

      String page = ui.get("/monitoring/watched", ui.login(Role.VIEWER)).body();
      String alerts = page.substring(page.indexOf("id=\"alerts\""));
      alerts = alerts.substring(0, alerts.indexOf("</table>"));
      assertThat(alerts)
          .contains("<a href=\"/runs/" + run + "\">#" + run + "</a>", "<td>alert</td>", ">sent<")
          .contains("HTTP 202")
          .doesNotContain(">failed<");
      assertThat(page).doesNotContain("No alerts sent");
    } finally {
      receiver.stop(0);
    }
  }

  @Test
  void unknownRunsAndPathsGetA404Page() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    HttpResponse<String> r = ui.get("/runs/99999999", cookie);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(r.body()).contains("no run 99999999");
    HttpResponse<String> nowhere = ui.get("/no/such/%3Cpage%3E", cookie);
    assertThat(nowhere.statusCode()).isEqualTo(404);
    assertThat(nowhere.body()).contains("Not found").doesNotContain("<page>");
    assertThat(ui.get("/models/nope", cookie).statusCode()).isEqualTo(404);
  }

  @Test
  void theLineageGraphLinksDatasetVersionsRunsAndModelVersions() throws Exception {
    DatasetVersion data =
        ui.engine
            .datasets()
            .record(
                new DatasetRegistry.NewVersion(
                    "customers",
                    "c".repeat(64),
                    10,
                    "file",
                    42L,
                    List.of(),
                    "data/customers.csv",
                    null,
                    null))
            .version();
    ui.engine.datasets().recordRead(runId, "greet", data);
    ui.engine
        .models()
        .register(
            new ModelRegistry.NewVersion(
                "lineage-model",
                "d".repeat(64),
                1,
                "file",
                runId,
                "greet",
                null,
                Map.of(),
                null,
                "t",
                null));
    String cookie = ui.login(Role.VIEWER);
    String model = ui.get("/models/lineage-model", cookie).body();
    String graph = model.substring(model.indexOf("<svg", model.indexOf("id=\"lineage\"")));
    graph = graph.substring(0, graph.indexOf("</svg>"));
    assertThat(graph)
        .contains(
            "data-node=\"d:customers@1\"",
            "href=\"/datasets/customers?version=1\"",
            "href=\"/runs/" + runId + "\"",
            "data-node=\"m:lineage-model@1\"",
            "href=\"/models/lineage-model#v1\"");
    // Two edges: the data set to the run, the run to the model version.
    assertThat(graph.split("C").length - 1).isEqualTo(2);
    String dataset = ui.get("/datasets/customers", cookie).body();
    assertThat(dataset.substring(dataset.indexOf("id=\"lineage\"")))
        .contains("data-node=\"r:" + runId + "\"", "href=\"/models/lineage-model#v1\"");
  }

  @Test
  void aViewerCannotPromoteAndNothingChanges() throws Exception {
    ModelRegistry models = ui.engine.models();
    models.register(
        new ModelRegistry.NewVersion(
            "churn",
            "a".repeat(64),
            1,
            "file",
            runId,
            "greet",
            null,
            Map.of(),
            "production",
            "t",
            "first"));
    models.register(
        new ModelRegistry.NewVersion(
            "churn", "b".repeat(64), 1, "file", runId, "greet", null, Map.of(), null, "t", null));
    String viewer = ui.login(Role.VIEWER);
    String page = ui.get("/models/churn", viewer).body();
    assertThat(page).doesNotContain("id=\"promote-form\"");
    String csrf = UiServer.csrf(page);
    HttpResponse<String> r =
        ui.post(
            "/models/churn/promote",
            viewer,
            Map.of("csrf", csrf, "alias", "production", "version", "2", "reason", "try"));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(models.aliases("churn")).containsEntry("production", 1);

    String admin = ui.login(Role.ADMIN);
    String adminPage = ui.get("/models/churn", admin).body();
    assertThat(adminPage).contains("id=\"promote-form\"");
    HttpResponse<String> noCsrf =
        ui.post(
            "/models/churn/promote",
            admin,
            Map.of("alias", "production", "version", "2", "reason", "x"));
    assertThat(noCsrf.statusCode()).isEqualTo(403);
    assertThat(models.aliases("churn")).containsEntry("production", 1);
    HttpResponse<String> ok =
        ui.post(
            "/models/churn/promote",
            admin,
            Map.of(
                "csrf",
                UiServer.csrf(adminPage),
                "alias",
                "production",
                "version",
                "2",
                "reason",
                "better"));
    assertThat(ok.statusCode()).isEqualTo(303);
    assertThat(models.aliases("churn")).containsEntry("production", 2);
    assertThat(models.history("churn", "production")).hasSize(2);
  }

  @Test
  void theRunFormIsShownToOperatorsOnlyAndAViewerCannotStartARun() throws Exception {
    String viewer = ui.login(Role.VIEWER);
    String page = ui.get("/pipelines/hello", viewer).body();
    assertThat(page).doesNotContain("id=\"run-form\"").contains("0 3 * * *");
    HttpResponse<String> r =
        ui.post("/pipelines/hello/runs", viewer, Map.of("csrf", UiServer.csrf(page)));
    assertThat(r.statusCode()).isEqualTo(403);
    String operator = ui.login(Role.OPERATOR);
    assertThat(ui.get("/pipelines/hello", operator).body())
        .contains("id=\"run-form\"", "name=\"p.who\"", "name=\"p.score\"");
  }

  @Test
  void anInvalidPipelineShowsItsProblemsOnTheirLinesEscaped() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    assertThat(ui.get("/pipelines", cookie).body()).contains("broken", "problem");
    String page = ui.get("/pipelines/broken", cookie).body();
    assertThat(page).doesNotContain("<script>alert(1)");
    Matcher bad = Pattern.compile("class=\"l bad\"><span class=\"no\">(\\d+)</span>").matcher(page);
    assertThat(bad.find()).isTrue();
    assertThat(page).contains("did you mean");
  }

  @Test
  void runsListFiltersByStatusAndPipeline() throws Exception {
    String cookie = ui.login(Role.VIEWER);
    assertThat(ui.get("/runs", cookie).body()).contains("href=\"/runs/" + runId + "\"");
    assertThat(ui.get("/runs?status=failed", cookie).body())
        .doesNotContain("href=\"/runs/" + runId + "\"");
    assertThat(ui.get("/runs?pipeline=hello&q=" + runId, cookie).body())
        .contains("href=\"/runs/" + runId + "\"");
  }

  @Test
  void anExpiredSessionGoesBackToTheLoginForm() throws Exception {
    try (UiServer shortLived =
        new UiServer(home.resolve("short"), 0, Map.of("KILN_UI_SESSION_TTL", "PT2S"))) {
      String cookie = shortLived.login(Role.VIEWER);
      assertThat(shortLived.get("/runs", cookie).statusCode()).isEqualTo(200);
      Await.until(
          "the session expires",
          Duration.ofSeconds(20),
          () -> shortLived.get("/runs", cookie).statusCode() == 303);
      assertThat(shortLived.get("/runs", cookie).headers().firstValue("Location"))
          .hasValue("/login?next=%2Fruns");
    }
  }

  @Test
  void aRevokedTokenEndsItsSessions() throws Exception {
    String token = new TokenStore(ui.engine.db()).create("short-lived", Role.VIEWER);
    HttpResponse<String> r = ui.post("/login", null, Map.of("token", token));
    String cookie = r.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    assertThat(ui.get("/runs", cookie).statusCode()).isEqualTo(200);
    new TokenStore(ui.engine.db()).revoke("short-lived");
    Await.until(
        "the session ends with its token",
        Duration.ofSeconds(20),
        () -> ui.get("/runs", cookie).statusCode() == 303);
  }
}
