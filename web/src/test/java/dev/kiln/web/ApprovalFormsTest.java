package dev.kiln.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.Await;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run page's Approve / Reject forms over HTTP against a real server whose in-process workers
 * run a real approval/wait step: shown to operators only, a viewer's post refused, decisions
 * recorded under the signed-in token's name.
 */
class ApprovalFormsTest {
  @TempDir static Path home;
  static UiServer ui;

  static final String GATED =
      """
      name: gated
      steps:
        gate:
          uses: approval/wait
          with: { message: "<b>ship</b> it?", timeout: 1h }
        ship:
          needs: [gate]
          run: "echo shipped"
      """;

  @BeforeAll
  static void start() throws Exception {
    ui = new UiServer(home, 4, Map.of());
  }

  @AfterAll
  static void stop() {
    if (ui != null) {
      ui.close();
    }
  }

  static long waitingRun() throws Exception {
    long run =
        ui.engine
            .runs()
            .createRun(
                PipelineParser.parse("gated.yaml", GATED).orThrow(),
                Map.of(),
                "manual",
                home.toString());
    Approvals approvals = new Approvals(ui.engine.db());
    Await.until(
        "the gate waits", Duration.ofSeconds(60), () -> approvals.find(run, "gate").isPresent());
    return run;
  }

  static TaskRecord gate(long run) {
    return ui.engine.store().tasks(run).stream()
        .filter(t -> t.stepId().equals("gate"))
        .findFirst()
        .orElseThrow();
  }

  static RunStatus awaitEnd(long run) throws Exception {
    Await.until("the run ends", Duration.ofSeconds(60), () -> ui.engine.store().ended(run));
    return ui.engine.store().run(run).orElseThrow().status();
  }

  @Test
  void anOperatorApprovesFromTheRunPageAndAViewerSeesNoButtonsAndCannotPost() throws Exception {
    long run = waitingRun();
    String approve = "action=\"/runs/" + run + "/steps/gate/approve\"";

    String viewer = ui.login(Role.VIEWER);
    String viewerPage = ui.get("/runs/" + run, viewer).body();
    assertThat(viewerPage)
        .contains("id=\"approvals\"", "&lt;b&gt;ship&lt;/b&gt; it?")
        .doesNotContain(approve, "class=\"approve\"");
    HttpResponse<String> refused =
        ui.post(
            "/runs/" + run + "/steps/gate/approve",
            viewer,
            Map.of("csrf", UiServer.csrf(viewerPage), "reason", "me"));
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(new Approvals(ui.engine.db()).find(run, "gate").orElseThrow().decision()).isNull();

    String operator = ui.login(Role.OPERATOR);
    String page = ui.get("/runs/" + run, operator).body();
    assertThat(page)
        .contains(approve, "formaction=\"/runs/" + run + "/steps/gate/reject\"", "name=\"reason\"");
    HttpResponse<String> noCsrf =
        ui.post("/runs/" + run + "/steps/gate/approve", operator, Map.of("reason", "x"));
    assertThat(noCsrf.statusCode()).isEqualTo(403);
    HttpResponse<String> ok =
        ui.post(
            "/runs/" + run + "/steps/gate/approve",
            operator,
            Map.of("csrf", UiServer.csrf(page), "reason", "checked the metrics"));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(303);
    assertThat(ok.headers().firstValue("Location").orElseThrow())
        .isEqualTo("/runs/" + run + "?task=gate#task");

    assertThat(awaitEnd(run)).isEqualTo(RunStatus.SUCCEEDED);
    assertThat(gate(run).outputs())
        .containsEntry("approved_by", "ui-operator")
        .containsEntry("reason", "checked the metrics");
    assertThat(ui.get("/runs/" + run, operator).body()).doesNotContain("id=\"approvals\"");

    HttpResponse<String> again =
        ui.post(
            "/runs/" + run + "/steps/gate/reject", operator, Map.of("csrf", UiServer.csrf(page)));
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(again.body()).contains("was already approved by ui-operator");
  }

  @Test
  void rejectFromTheRunPageFailsTheStep() throws Exception {
    long run = waitingRun();
    String operator = ui.login(Role.OPERATOR);
    String page = ui.get("/runs/" + run, operator).body();
    HttpResponse<String> r =
        ui.post(
            "/runs/" + run + "/steps/gate/reject",
            operator,
            Map.of("csrf", UiServer.csrf(page), "reason", "not on a Friday"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(303);
    assertThat(awaitEnd(run)).isEqualTo(RunStatus.FAILED);
    assertThat(gate(run).error())
        .isEqualTo("approval/wait: rejected by ui-operator: not on a Friday");
    HttpResponse<String> notGate =
        ui.post(
            "/runs/" + run + "/steps/ship/approve", operator, Map.of("csrf", UiServer.csrf(page)));
    assertThat(notGate.statusCode()).isEqualTo(409);
  }
}
