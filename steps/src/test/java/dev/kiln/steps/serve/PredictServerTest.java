package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PredictServerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir static Path dir;
  static PredictServer server;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    Path file = TestModels.train(dir, 1);
    TribuoModel model = TribuoModel.load(file);
    ModelInfo info =
        new ModelInfo("bc", 3, "tribuo", "x", "model.tribuo", model.signature(), Map.of());
    server = PredictServer.start(info, model, "127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static HttpResponse<String> post(String body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base + "/predict"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static Map<String, Object> json(HttpResponse<String> r) throws Exception {
    return JSON.readValue(r.body(), new TypeReference<Map<String, Object>>() {});
  }

  @Test
  void predictsLabelsWithProbabilitiesAndTheVersionHeader() throws Exception {
    List<Map<String, Object>> rows = TestModels.rows(5);
    HttpResponse<String> r = post(JSON.writeValueAsString(Map.of("rows", rows)));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Kiln-Model-Version")).hasValue("3");
    Map<String, Object> body = json(r);
    assertThat((List<?>) body.get("predictions")).hasSize(5);
    // The first rows of the data are malignant tumours.
    assertThat(((List<?>) body.get("predictions")).get(0)).isEqualTo("malignant");
    @SuppressWarnings("unchecked")
    Map<String, Double> p0 = ((List<Map<String, Double>>) body.get("probabilities")).get(0);
    assertThat(p0).containsOnlyKeys("malignant", "benign");
    assertThat(p0.get("malignant") + p0.get("benign"))
        .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
  }

  @Test
  void healthNamesTheModel() throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/health")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r)).containsEntry("status", "ok").containsEntry("version", 3);
  }

  @Test
  void aMissingColumnIsA400NamingIt() throws Exception {
    Map<String, Object> row = new LinkedHashMap<>(TestModels.rows(1).get(0));
    row.remove("mean_radius");
    HttpResponse<String> r = post(JSON.writeValueAsString(Map.of("rows", List.of(row))));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r).get("error")).isEqualTo("rows[0]: missing column(s) mean_radius");
  }

  @Test
  void anExtraColumnIsA400NamingIt() throws Exception {
    Map<String, Object> row = new LinkedHashMap<>(TestModels.rows(1).get(0));
    row.put("shoe_size", 42);
    HttpResponse<String> r = post(JSON.writeValueAsString(Map.of("rows", List.of(row))));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat((String) json(r).get("error")).startsWith("rows[0]: unknown column(s) shoe_size");
  }

  @Test
  void aWrongTypeIsA400NamingRowAndColumn() throws Exception {
    List<Map<String, Object>> rows = TestModels.rows(2);
    Map<String, Object> row = new LinkedHashMap<>(rows.get(1));
    row.put("mean_area", "large");
    HttpResponse<String> r =
        post(JSON.writeValueAsString(Map.of("rows", List.of(rows.get(0), row))));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r).get("error"))
        .isEqualTo("rows[1].mean_area: expected a number, got string 'large'");
  }

  @Test
  void notJsonAndNoRowsAre400s() throws Exception {
    HttpResponse<String> notJson = post("{rows: ");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat((String) json(notJson).get("error")).startsWith("the body is not JSON");
    HttpResponse<String> noRows = post("{\"data\": []}");
    assertThat(noRows.statusCode()).isEqualTo(400);
    assertThat((String) json(noRows).get("error")).contains("{\"rows\": [");
  }

  @Test
  void aBodyOverTenMegabytesIsA413() throws Exception {
    String big = "{\"rows\": [\"" + "x".repeat(11 * 1024 * 1024) + "\"]}";
    HttpResponse<String> r = post(big);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(json(r).get("error")).isEqualTo("request body over 10 MB");
  }

  @Test
  void unknownRoutesAreJson404s() throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/nothing")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(json(r).get("status")).isEqualTo(404);
  }
}
