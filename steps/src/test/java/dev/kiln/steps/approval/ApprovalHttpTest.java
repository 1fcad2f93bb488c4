package dev.kiln.steps.approval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import dev.kiln.workers.Pipelines;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The approve and reject routes over loopback HTTP against a real kiln server (its in-process
 * workers run the approval/wait step), and {@code kiln approve|reject --server} as real processes.
 */
class ApprovalHttpTest {
  @TempDir Path home;
  @TempDir Path base;
  Engine engine;
  KilnServer server;
  String url;
  String operator;
  String viewer;
  final HttpClient http = HttpClient.newHttpClient();

  static final String GATED =
      """
      name: gated
      steps:
        prep:
          run: echo ready
        gate:
          needs: [prep]
          uses: approval/wait
          with: { message: "ship it?", timeout: 1h }
        ship:
          needs: [gate]
          run: "echo shipped by ${{ steps.gate.outputs.approved_by }}"
      """;

  @BeforeEach
  void start() throws Exception {
    Path pipelines = Files.createDirectories(home.resolve("pipelines"));
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh(10));
    TokenStore tokens = new TokenStore(engine.db());
    operator = tokens.create("ops", Role.OPERATOR);
    viewer = tokens.create("watcher", Role.VIEWER);
    server =
        new KilnServer(
            engine,
            new KilnServer.Options("127.0.0.1", 0, pipelines, 2, Map.of()),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    server.start();
    url = "http://127.0.0.1:" + server.port();
  }

  @AfterEach
  void stop() {
    server.close();
    engine.close();
  }

  long waitingRun() throws Exception {
    long run =
        engine
            .runs()
            .createRun(
                PipelineParser.parse("gated.yaml", GATED).orThrow(),
                Map.of(),
                "manual",
                base.toString());
    Approvals approvals = new Approvals(engine.db());
    Await.until(
        "the gate waits", Duration.ofSeconds(60), () -> approvals.find(run, "gate").isPresent());
    return run;
  }

  HttpResponse<String> post(String path, String token, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url + path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  TaskRecord task(long run, String step) {
    return Pipelines.task(engine, run, step);
  }

  static String error(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body()).path("error").asText();
  }

  @Test
  void anOperatorApprovesOverHttpAndTheRunGoesOnWithTheTokensNameRecorded() throws Exception {
    long run = waitingRun();
    String approve = "/api/runs/" + run + "/steps/gate/approve";

    HttpResponse<String> refused = post(approve, viewer, "{\"reason\": \"me too\"}");
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
    assertThat(new Approvals(engine.db()).find(run, "gate").orElseThrow().decision()).isNull();
    assertThat(task(run, "gate").status()).isEqualTo(StepStatus.RUNNING);

    HttpResponse<String> noRun = post("/api/runs/99999/steps/gate/approve", operator, "{}");
    assertThat(noRun.statusCode()).isEqualTo(404);
    assertThat(error(noRun)).isEqualTo("no run 99999");
    HttpResponse<String> noStep = post("/api/runs/" + run + "/steps/deploy/approve", operator, "");
    assertThat(noStep.statusCode()).isEqualTo(404);
    assertThat(error(noStep)).isEqualTo("no step 'deploy' has started in run " + run);
    HttpResponse<String> notWaiting =
        post("/api/runs/" + run + "/steps/prep/approve", operator, "");
    assertThat(notWaiting.statusCode()).isEqualTo(409);
    assertThat(error(notWaiting))
        .isEqualTo("step 'prep' of run " + run + " is not waiting for approval (it is succeeded)");
    HttpResponse<String> badReason = post(approve, operator, "{\"reason\": 7}");
    assertThat(badReason.statusCode()).isEqualTo(400);
    assertThat(new Approvals(engine.db()).find(run, "gate").orElseThrow().decision()).isNull();

    HttpResponse<String> ok = post(approve, operator, "{\"reason\": \"metrics look right\"}");
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    JsonNode body = Json.MAPPER.readTree(ok.body());
    assertThat(body.path("decision").asText()).isEqualTo("approved");
    assertThat(body.path("by").asText()).isEqualTo("ops");

    RunRecord end = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(60));
    assertThat(end.status()).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(run, "gate").outputs())
        .containsEntry("approved_by", "ops")
        .containsEntry("reason", "metrics look right");

    HttpResponse<String> again = post("/api/runs/" + run + "/steps/gate/reject", operator, "");
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(error(again)).isEqualTo("step 'gate' was already approved by ops");
  }

  @Test
  void kilnApproveAndRejectWithServerCallTheServerWithTheTokenInKilnToken() throws Exception {
    long first = waitingRun();
    Map<String, String> env = Map.of("KILN_HOME", home.resolve("cli").toString());
    Kiln asViewer = new Kiln(with(env, "KILN_TOKEN", viewer), base);
    Kiln asOperator = new Kiln(with(env, "KILN_TOKEN", operator), base);

    Kiln.Result refused = asViewer.run("approve", String.valueOf(first), "gate", "--server", url);
    assertThat(refused.exit()).isEqualTo(2);
    assertThat(refused.err().strip())
        .doesNotContain("\n")
        .startsWith("kiln: server " + url + " refused the request (403")
        .contains("set KILN_TOKEN to a token of role operator or admin");
    assertThat(task(first, "gate").status()).isEqualTo(StepStatus.RUNNING);

    Kiln.Result approved =
        asOperator.run(
            "approve", String.valueOf(first), "gate", "--reason", "ok", "--server", url + "/");
    assertThat(approved.exit()).as(approved.err()).isZero();
    assertThat(approved.out().strip()).isEqualTo("run " + first + " step gate approved by ops");
    assertThat(Pipelines.awaitEnd(engine, first, Duration.ofSeconds(60)).status())
        .isEqualTo(RunStatus.SUCCEEDED);
    assertThat(task(first, "gate").outputs()).containsEntry("reason", "ok");

    long second = waitingRun();
    Kiln.Result wrong = asOperator.run("reject", String.valueOf(second), "ship", "--server", url);
    assertThat(wrong.exit()).isEqualTo(2);
    assertThat(wrong.err().strip()).isEqualTo("kiln: no step 'ship' has started in run " + second);
    Kiln.Result rejected =
        asOperator.run("reject", String.valueOf(second), "gate", "--reason", "no", "--server", url);
    assertThat(rejected.exit()).as(rejected.err()).isZero();
    assertThat(rejected.out().strip()).isEqualTo("run " + second + " step gate rejected by ops");
    assertThat(Pipelines.awaitEnd(engine, second, Duration.ofSeconds(60)).status())
        .isEqualTo(RunStatus.FAILED);
    assertThat(task(second, "gate").error()).isEqualTo("approval/wait: rejected by ops: no");

    Kiln.Result unreachable =
        asOperator.run("approve", String.valueOf(second), "gate", "--server", "http://127.0.0.1:1");
    assertThat(unreachable.exit()).isEqualTo(2);
    assertThat(unreachable.err().strip())
        .isEqualTo("kiln: cannot reach kiln server at http://127.0.0.1:1");
  }

  static Map<String, String> with(Map<String, String> env, String name, String value) {
    Map<String, String> m = new HashMap<>(env);
    m.put(name, value);
    return m;
  }
}
