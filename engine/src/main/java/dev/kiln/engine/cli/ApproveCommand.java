package dev.kiln.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.store.Approvals;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "approve",
    mixinStandardHelpOptions = true,
    description = {
      "Let a paused approval/wait step go on.",
      "The approver recorded is KILN_USER, else the OS user; with --server URL",
      "(POST /api/runs/RUN/steps/STEP/approve) it is the name of the token in KILN_TOKEN."
    })
class ApproveCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Parameters(index = "1", paramLabel = "STEP", description = "the approval/wait step's id")
  String step;

  @Option(names = "--reason", paramLabel = "TEXT", description = "recorded with the decision")
  String reason;

  @Option(
      names = "--server",
      paramLabel = "URL",
      description = {
        "decide on this kiln server, e.g. http://localhost:8080;",
        "the token in KILN_TOKEN (role operator or admin) authenticates"
      })
  String server;

  boolean approve() {
    return true;
  }

  @Override
  public Integer call() throws Exception {
    if (server != null) {
      return remote();
    }
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      if (engine.store().run(runId).isEmpty()) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      }
      Approvals approvals = new Approvals(engine.db());
      String verb = approve() ? "approved" : "rejected";
      switch (approvals.decide(runId, step, approve(), Names.who(), reason)) {
        case DONE -> {
          System.out.println("run " + runId + " step " + step + " " + verb + " by " + Names.who());
          return Main.OK;
        }
        case ALREADY -> {
          Approvals.State s = approvals.find(runId, step).orElseThrow();
          throw new UserError(
              "step '"
                  + step
                  + "' of run "
                  + runId
                  + " was already "
                  + s.decision()
                  + " by "
                  + s.decidedBy());
        }
        case EXPIRED ->
            throw new UserError(
                "step '" + step + "' of run " + runId + " stopped waiting: its timeout passed");
        default ->
            throw new UserError(
                "step '"
                    + step
                    + "' of run "
                    + runId
                    + " is not waiting for approval (see 'kiln runs show "
                    + runId
                    + "')");
      }
    }
  }

  private int remote() throws Exception {
    ServerClient client = new ServerClient(server);
    String path =
        "/api/runs/"
            + runId
            + "/steps/"
            + URLEncoder.encode(step, StandardCharsets.UTF_8).replace("+", "%20")
            + (approve() ? "/approve" : "/reject");
    Map<String, Object> body = new LinkedHashMap<>();
    if (reason != null) {
      body.put("reason", reason);
    }
    JsonNode done = client.post(path, body);
    System.out.println(
        "run "
            + runId
            + " step "
            + step
            + " "
            + done.path("decision").asText()
            + " by "
            + done.path("by").asText());
    return Main.OK;
  }

  @Command(
      name = "reject",
      mixinStandardHelpOptions = true,
      description = {
        "Fail a paused approval/wait step (the run goes on as after any failed step).",
        "With --server URL: POST /api/runs/RUN/steps/STEP/reject as the KILN_TOKEN's name."
      })
  static final class Reject extends ApproveCommand {
    @Override
    boolean approve() {
      return false;
    }
  }
}
