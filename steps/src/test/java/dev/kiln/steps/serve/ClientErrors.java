package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every mistake a client can make against the predict API, over real HTTP, with the answer each
 * gets: the same for every flavour's server and through a deployment's proxy in front of it.
 */
final class ClientErrors {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  private ClientErrors() {}

  /** Checks them all against the server at base, which serves the flagship's model as version. */
  static void assertClear(String base, int version) throws Exception {
    String rows = JSON.writeValueAsString(Map.of("rows", TestModels.rows(2)));
    // What curl -d sends (a form's type), no type, and text: the body is read as JSON all the same.
    for (String type : new String[] {"application/x-www-form-urlencoded", null, "text/plain"}) {
      HttpResponse<String> r = send(base, "POST", "/predict", type, rows);
      assertThat(r.statusCode()).as(type + ": " + r.body()).isEqualTo(200);
      assertThat(r.headers().firstValue(PredictServer.VERSION_HEADER))
          .hasValue(String.valueOf(version));
      assertThat((List<?>) JSON.readValue(r.body(), Map.class).get("predictions")).hasSize(2);
    }
    String form = "application/x-www-form-urlencoded";
    assertError(send(base, "POST", "/predict", form, "rows=1&x=%zz"), 400, "the body is not JSON");
    assertError(
        send(base, "POST", "/predict", "application/json", "{rows: "), 400, "the body is not JSON");
    assertError(
        send(base, "POST", "/predict", "application/json", "{\"data\": []}"),
        400,
        "the body must be {\"rows\": [{column: value, ...}, ...]}");
    Map<String, Object> row = new LinkedHashMap<>(TestModels.rows(1).get(0));
    row.remove("mean_radius");
    assertError(
        send(base, "POST", "/predict", form, JSON.writeValueAsString(Map.of("rows", List.of(row)))),
        400,
        "rows[0]: missing column(s) mean_radius");
    String big = "{\"rows\": [\"" + "x".repeat(11 * 1024 * 1024) + "\"]}";
    assertError(
        send(base, "POST", "/predict", "application/json", big), 413, "request body over 10 MB");
    assertError(
        send(base, "GET", "/predict", null, null), 405, "method GET not allowed on /predict");
    assertError(
        send(base, "POST", "/health", form, rows), 405, "method POST not allowed on /health");
    assertError(send(base, "GET", "/nothing", null, null), 404, "no route GET /nothing");
  }

  static HttpResponse<String> send(
      String base, String method, String path, String type, String body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(30))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (type != null) {
      b.header("Content-Type", type);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The status, and a JSON error that starts with message and repeats the status. */
  static void assertError(HttpResponse<String> r, int status, String message) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    Map<?, ?> body = JSON.readValue(r.body(), Map.class);
    assertThat((String) body.get("error")).as(r.body()).startsWith(message);
    assertThat(body.get("status")).isEqualTo(status);
  }
}
