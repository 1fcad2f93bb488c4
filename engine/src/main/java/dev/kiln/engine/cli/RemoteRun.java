package dev.kiln.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * {@code kiln run --server URL PIPELINE}: starts the run on a server and follows it, with the token
 * in {@code KILN_TOKEN} as the bearer token.
 */
final class RemoteRun {
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

  private final String base;
  private final String token;
  private final boolean json;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  RemoteRun(String server, boolean json) {
    this.base = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
    this.token = System.getenv("KILN_TOKEN");
    this.json = json;
  }

  int run(String pipeline, Map<String, String> params) throws Exception {
    if (!pipeline.matches("[a-z0-9][a-z0-9-]*")) {
      throw new UserError(
          "with --server, name a pipeline the server hosts, got '" + pipeline + "'");
    }
    JsonNode started =
        call(
            HttpRequest.newBuilder(URI.create(base + "/api/pipelines/" + pipeline + "/runs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(params))));
    long runId = started.get("run_id").asLong();
    System.err.println("run " + runId + " of " + pipeline + " started on " + base);
    String last = null;
    while (true) {
      JsonNode run = call(HttpRequest.newBuilder(URI.create(base + "/api/runs/" + runId)).GET());
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

  private JsonNode call(HttpRequest.Builder request) throws IOException, InterruptedException {
    if (token != null && !token.isBlank()) {
      request.header("Authorization", "Bearer " + token.trim());
    }
    HttpResponse<String> r;
    try {
      r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new UserError("cannot reach kiln server at " + base);
    }
    JsonNode body =
        r.body().isBlank() ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
    if (r.statusCode() == 401 || r.statusCode() == 403) {
      throw new UserError(
          "server "
              + base
              + " refused the request ("
              + r.statusCode()
              + (body.has("error") ? ": " + body.get("error").asText() : "")
              + "): set KILN_TOKEN to a token of role operator or admin"
              + " ('kiln tokens create NAME --role operator' on the server's database)");
    }
    if (r.statusCode() >= 400) {
      throw new UserError(
          body.has("error") ? body.get("error").asText() : "server answered " + r.statusCode());
    }
    return body;
  }
}
