package dev.kiln.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import java.util.Map;
import java.util.Set;

/**
 * {@code kiln run --server URL PIPELINE}: starts the run on a server and follows it, with the token
 * in {@code KILN_TOKEN} as the bearer token.
 */
final class RemoteRun {
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

  private final ServerClient server;
  private final boolean json;

  RemoteRun(String server, boolean json) {
    this.server = new ServerClient(server);
    this.json = json;
  }

  int run(String pipeline, Map<String, String> params) throws Exception {
    if (!pipeline.matches("[a-z0-9][a-z0-9-]*")) {
      throw new UserError(
          "with --server, name a pipeline the server hosts, got '" + pipeline + "'");
    }
    JsonNode started = server.post("/api/pipelines/" + pipeline + "/runs", params);
    long runId = started.get("run_id").asLong();
    System.err.println("run " + runId + " of " + pipeline + " started on " + server.base);
    String last = null;
    while (true) {
      JsonNode run = server.get("/api/runs/" + runId);
      String status = run.get("status").asText();
      if (!status.equals(last)) {
        System.err.println("run " + runId + " " + status);
        last = status;
      }
      if (TERMINAL.contains(status)) {
        if (json) {
          System.out.println(Json.MAPPER.writeValueAsString(run));
        }
        return status.equals("succeeded") ? Main.OK : Main.FAILED;
      }
      Thread.sleep(250); // progress poll of a remote run
    }
  }
}
