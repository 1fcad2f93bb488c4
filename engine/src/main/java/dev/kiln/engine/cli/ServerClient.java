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

/**
 * The HTTP API of a kiln server as the {@code --server URL} commands call it: the token in {@code
 * KILN_TOKEN} as the bearer token, an error answer turned into one {@link UserError} line.
 */
final class ServerClient {
  final String base;
  private final String token;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  ServerClient(String server) {
    this.base = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
    this.token = System.getenv("KILN_TOKEN");
  }

  JsonNode get(String path) throws IOException, InterruptedException {
    return call(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  JsonNode post(String path, Object body) throws IOException, InterruptedException {
    return call(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(Json.write(body))));
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
    JsonNode body;
    try {
      body = r.body().isBlank() ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
    } catch (IOException e) {
      throw new UserError(
          base + " answered " + r.statusCode() + " without JSON: is it a kiln server?");
    }
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
