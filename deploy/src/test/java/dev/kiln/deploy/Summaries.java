package dev.kiln.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** What the deploy ITs read from a kiln server: its health, a run summary's step outputs. */
final class Summaries {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Summaries() {}

  static boolean healthy(String server) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(server + "/health")).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  static JsonNode outputs(JsonNode summary, String step) {
    for (JsonNode s : summary.path("steps")) {
      if (s.path("id").asText().equals(step)) {
        return s.path("outputs");
      }
    }
    throw new AssertionError("no step " + step + " in " + summary);
  }

  /** The token {@code kiln tokens create} printed alone on its last line. */
  static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
