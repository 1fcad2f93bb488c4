package dev.kiln.workers.server;

import static dev.kiln.workers.server.Servers.awaitTrue;
import static dev.kiln.workers.server.Servers.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.trigger.WebhookAuth;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Webhooks and the run API against one real kiln server process. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhookServerTest {
  @TempDir static Path home;
  @TempDir static Path dir;
  Servers servers;
  Servers.Server server;
  String hook;

  @BeforeAll
  void startServer() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    Files.writeString(
        pipelines.resolve("train.yaml"),
        """
        name: train
        params:
          data: { type: string }
          epochs: { type: integer, default: 1 }
        triggers:
          - webhook:
              path: new-data
              secret_env: HOOK_SECRET
              token_env: HOOK_TOKEN
              params: { data: "${{ body.file.path }}", epochs: "${{ body.epochs }}" }
        steps:
          train:
            run: echo "data=${{ params.data }} epochs=${{ params.epochs }}" >> "$KILN_OUTPUTS"
        """);
    Files.writeString(
        pipelines.resolve("slow.yaml"),
        """
        name: slow
        concurrency: forbid
        steps:
          wait:
            run: sleep 60
        """);
    Files.writeString(
        pipelines.resolve("swap.yaml"),
        """
        name: swap
        concurrency: replace
        steps:
          wait:
            run: sleep 60
        """);
    Files.writeString(pipelines.resolve("reload.yaml"), RELOAD.formatted("one"));
    Files.writeString(pipelines.resolve("notes.yaml"), "just: some yaml that is not a pipeline\n");
    servers = new Servers(home, dir);
    server = servers.start(pipelines);
    hook = server.url() + "/hooks/new-data";
  }

  static final String RELOAD =
      """
      name: reload
      params:
        v: { type: string, default: %s }
      triggers:
        - webhook: { path: reload, auth: none }
      steps:
        a:
          run: echo "${{ params.v }}"
      """;

  @AfterAll
  void stopServer() throws Exception {
    System.err.println(serverErr());
    servers.close();
  }

  @BeforeEach
  void empty() throws Exception {
    servers.count("select count(*) from runs"); // the database answers
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private HttpResponse<String> signed(String body, String... headers) throws Exception {
    byte[] b = bytes(body);
    List<String> h =
        new ArrayList<>(
            List.of(
                "X-Hub-Signature-256",
                WebhookAuth.sign(Servers.SECRET, b),
                "Content-Type",
                "application/json"));
    h.addAll(List.of(headers));
    return servers.post(hook, b, h.toArray(String[]::new));
  }

  private long runs() throws Exception {
    return servers.count("select count(*) from runs");
  }

  @Test
  void signedDeliveryStartsARunWithParamsFromTheBody() throws Exception {
    var r = signed("{\"file\": {\"path\": \"/data/a.csv\"}, \"epochs\": \"3\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    long runId = json(r).get("run_id").asLong();

    awaitTrue(
        "run " + runId + " succeeded",
        Duration.ofSeconds(30),
        () ->
            json(servers.get(server.url() + "/api/runs/" + runId))
                .get("status")
                .asText()
                .equals("succeeded"));
    var summary = json(servers.get(server.url() + "/api/runs/" + runId));
    assertThat(summary.get("trigger").asText()).isEqualTo("webhook");
    assertThat(summary.get("params").get("epochs").asLong()).isEqualTo(3L);
    assertThat(summary.get("steps").get(0).get("outputs").get("data").asText())
        .isEqualTo("/data/a.csv epochs=3");
  }

  @Test
  void bearerTokenIsAcceptedInsteadOfASignature() throws Exception {
    var r =
        servers.post(
            hook,
            bytes("{\"file\": {\"path\": \"t.csv\"}, \"epochs\": 1}"),
            "Authorization",
            "Bearer " + Servers.TOKEN);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
  }

  @Test
  void forgedOrMissingSignatureIsRefusedWith401AndLeavesNoRun() throws Exception {
    long before = runs();
    byte[] body = bytes("{\"file\": {\"path\": \"x.csv\"}}");
    var forged = servers.post(hook, body, "X-Hub-Signature-256", WebhookAuth.sign("wrong", body));
    var tampered =
        servers.post(
            hook,
            bytes("{\"file\": {\"path\": \"y.csv\"}}"),
            "X-Hub-Signature-256",
            WebhookAuth.sign(Servers.SECRET, body));
    var missing = servers.post(hook, body);
    var badToken = servers.post(hook, body, "Authorization", "Bearer nope");

    assertThat(List.of(forged, tampered, missing, badToken))
        .allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(401));
    assertThat(json(missing).get("error").asText()).contains("missing X-Hub-Signature-256");
    assertThat(runs()).isEqualTo(before);
  }

  @Test
  void redeliveryWithTheSameDeliveryIdReturnsTheSameRun() throws Exception {
    String body = "{\"file\": {\"path\": \"r.csv\"}}";
    var first = signed(body, "X-GitHub-Delivery", "delivery-1");
    var again = signed(body, "X-GitHub-Delivery", "delivery-1");
    var other = signed(body, "Idempotency-Key", "delivery-2");

    assertThat(first.statusCode()).isEqualTo(202);
    assertThat(again.statusCode()).isEqualTo(202);
    assertThat(json(again).get("run_id").asLong()).isEqualTo(json(first).get("run_id").asLong());
    assertThat(json(other).get("run_id").asLong()).isNotEqualTo(json(first).get("run_id").asLong());
  }

  @Test
  void hundredConcurrentSignedDeliveriesMakeExactlyHundredRuns() throws Exception {
    long before = runs();
    ExecutorService pool = Executors.newFixedThreadPool(25);
    try {
      List<Future<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        String id = "burst-" + i;
        sent.add(
            pool.submit(
                () -> signed("{\"file\": {\"path\": \"" + id + "\"}}", "X-GitHub-Delivery", id)));
      }
      // and 20 concurrent redeliveries of one delivery: one run
      List<Future<HttpResponse<String>>> same = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        same.add(
            pool.submit(
                () -> signed("{\"file\": {\"path\": \"same\"}}", "X-GitHub-Delivery", "same-1")));
      }
      Set<Long> ids = new HashSet<>();
      for (var f : sent) {
        assertThat(f.get().statusCode()).as(f.get().body()).isEqualTo(202);
        ids.add(json(f.get()).get("run_id").asLong());
      }
      Set<Long> sameIds = new HashSet<>();
      for (var f : same) {
        assertThat(f.get().statusCode()).as(f.get().body()).isEqualTo(202);
        sameIds.add(json(f.get()).get("run_id").asLong());
      }
      assertThat(ids).hasSize(100);
      assertThat(sameIds).hasSize(1);
      assertThat(runs() - before).isEqualTo(101);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void badRequestsGetTheirStatusNameTheFieldAndLeaveNoRow() throws Exception {
    long runs = runs();
    long keys = servers.count("select count(*) from trigger_keys");

    var unknown = servers.post(server.url() + "/hooks/nope", bytes("{}"));
    byte[] big = new byte[1024 * 1024 + 10];
    java.util.Arrays.fill(big, (byte) ' ');
    var tooBig =
        servers.post(hook, big, "X-Hub-Signature-256", WebhookAuth.sign(Servers.SECRET, big));
    var notJson = signed("{not json", "X-GitHub-Delivery", "bad-1");
    var wrongType =
        signed("{\"file\": {\"path\": \"a\"}, \"epochs\": \"many\"}", "X-GitHub-Delivery", "bad-2");
    var missingField = signed("{\"epochs\": 2}", "X-GitHub-Delivery", "bad-3");
    var apiUnknownParam =
        servers.postJson(server.url() + "/api/pipelines/train/runs", bytes("{\"dta\": 1}"));
    var apiNoPipeline = servers.postJson(server.url() + "/api/pipelines/nope/runs", bytes("{}"));
    var noRun = servers.get(server.url() + "/api/runs/999999");

    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(json(notJson).get("error").asText()).startsWith("invalid JSON body");
    assertThat(wrongType.statusCode()).isEqualTo(400);
    assertThat(json(wrongType).get("error").asText())
        .contains("param 'epochs'")
        .contains("integer");
    assertThat(missingField.statusCode()).isEqualTo(400);
    assertThat(json(missingField).get("error").asText())
        .contains("param 'data'")
        .contains("body.file.path");
    assertThat(apiUnknownParam.statusCode()).isEqualTo(400);
    assertThat(json(apiUnknownParam).get("error").asText()).contains("unknown param 'dta'");
    assertThat(apiNoPipeline.statusCode()).isEqualTo(404);
    assertThat(noRun.statusCode()).isEqualTo(404);
    assertThat(runs()).isEqualTo(runs);
    assertThat(servers.count("select count(*) from trigger_keys")).isEqualTo(keys);
  }

  @Test
  void kilnRunWithServerStartsTheRunThroughTheApiAndFollowsIt() throws Exception {
    var r =
        servers.kiln.run(
            "run", "--server", server.url(), "train", "-p", "data=manual.csv", "--json");
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    var summary = dev.kiln.engine.store.Json.MAPPER.readTree(r.out());
    assertThat(summary.get("status").asText()).isEqualTo("succeeded");
    assertThat(summary.get("trigger").asText()).isEqualTo("api");
    assertThat(summary.get("steps").get(0).get("outputs").get("data").asText())
        .isEqualTo("manual.csv epochs=1");

    var bad = servers.kiln.run("run", "--server", server.url(), "train", "-p", "epochs=x");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("param 'epochs'");
  }

  private String reloadParam() throws Exception {
    var r = servers.post(server.url() + "/hooks/reload", bytes("{}"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    long id = json(r).get("run_id").asLong();
    return json(servers.get(server.url() + "/api/runs/" + id)).get("params").get("v").asText();
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

  @Test
  void invalidEditIsReportedAndTheLastGoodVersionStaysUntilAValidEdit() throws Exception {
    Path file = dir.resolve("pipelines/reload.yaml");
    assertThat(reloadParam()).isEqualTo("one");

    Files.writeString(file, RELOAD.formatted("one").replace("steps:", "stepz:") + "steps: {}\n");
    awaitTrue(
        "the invalid edit is reported",
        Duration.ofSeconds(20),
        () ->
            serverErr()
                .contains("reload.yaml is invalid; keeping the last valid version of reload"));
    assertThat(serverErr()).contains("reload.yaml:6:1: unknown key 'stepz'");
    assertThat(reloadParam()).isEqualTo("one");

    Files.writeString(file, RELOAD.formatted("two"));
    awaitTrue(
        "the valid edit is active", Duration.ofSeconds(20), () -> reloadParam().equals("two"));
  }

  @Test
  void forbidSkipsANewRunWithARecordedReasonWhileOneIsActive() throws Exception {
    var first = servers.postJson(server.url() + "/api/pipelines/slow/runs", bytes("{}"));
    var second = servers.postJson(server.url() + "/api/pipelines/slow/runs", bytes("{}"));

    assertThat(first.statusCode()).isEqualTo(202);
    assertThat(second.statusCode()).isEqualTo(409);
    long firstId = json(first).get("run_id").asLong();
    assertThat(json(second).get("error").asText())
        .isEqualTo("run " + firstId + " of slow is still active (concurrency: forbid)");
    assertThat(servers.strings("select reason from trigger_skips where pipeline = 'slow'"))
        .containsExactly("run " + firstId + " of slow is still active (concurrency: forbid)");
    servers.kiln.run("cancel", String.valueOf(firstId));
  }

  @Test
  void replaceCancelsTheActiveRunAndStartsTheNewOne() throws Exception {
    long first =
        json(servers.postJson(server.url() + "/api/pipelines/swap/runs", bytes("{}")))
            .get("run_id")
            .asLong();
    var second = servers.postJson(server.url() + "/api/pipelines/swap/runs", bytes("{}"));

    assertThat(second.statusCode()).isEqualTo(202);
    long secondId = json(second).get("run_id").asLong();
    assertThat(json(servers.get(server.url() + "/api/runs/" + first)).get("status").asText())
        .isEqualTo("cancelled");
    assertThat(json(servers.get(server.url() + "/api/runs/" + secondId)).get("status").asText())
        .isIn("queued", "running");
    servers.kiln.run("cancel", String.valueOf(secondId));
  }

  @Test
  void deletingAPipelineFileUnloadsItAndItsWebhook() throws Exception {
    Path file = dir.resolve("pipelines/gone.yaml");
    Files.writeString(
        file,
        """
        name: gone
        triggers:
          - webhook: { path: gone, auth: none }
        steps:
          a: { run: echo here }
        """);
    awaitTrue(
        "the new pipeline's webhook to answer",
        Duration.ofSeconds(20),
        () -> servers.post(server.url() + "/hooks/gone", bytes("{}")).statusCode() == 202);

    Files.delete(file);
    awaitTrue(
        "the deleted pipeline's webhook to be gone",
        Duration.ofSeconds(20),
        () -> servers.post(server.url() + "/hooks/gone", bytes("{}")).statusCode() == 404);
    assertThat(
            servers.postJson(server.url() + "/api/pipelines/gone/runs", bytes("{}")).statusCode())
        .isEqualTo(404);
    assertThat(serverErr()).containsPattern("unloaded gone: \\S*/pipelines/gone.yaml was deleted");
  }

  @Test
  void aPipelineAddedWithANewQueueIsServedByTheInProcessWorkers() throws Exception {
    Files.writeString(
        dir.resolve("pipelines/late.yaml"),
        """
        name: late-queue
        steps:
          a: { queue: added-later, run: echo "q=$KILN_STEP" >> "$KILN_OUTPUTS" }
        """);
    java.util.concurrent.atomic.AtomicLong started = new java.util.concurrent.atomic.AtomicLong();
    awaitTrue(
        "the pipeline to load",
        Duration.ofSeconds(20),
        () -> {
          var r = servers.postJson(server.url() + "/api/pipelines/late-queue/runs", bytes("{}"));
          if (r.statusCode() == 202) {
            started.set(json(r).get("run_id").asLong());
          }
          return r.statusCode() == 202;
        });
    long run = started.get();
    awaitTrue(
        "the run on the new queue to succeed",
        Duration.ofSeconds(20),
        () ->
            json(servers.get(server.url() + "/api/runs/" + run))
                .get("status")
                .asText()
                .equals("succeeded"));
  }
}
