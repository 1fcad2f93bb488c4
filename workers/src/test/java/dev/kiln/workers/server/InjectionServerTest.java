package dev.kiln.workers.server;

import static dev.kiln.workers.server.Servers.awaitTrue;
import static dev.kiln.workers.server.Servers.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.store.Json;
import dev.kiln.workers.Hostile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/security.md, "Values never become code", through the HTTP API of a real server: hostile
 * params are data, a NUL byte is refused with 400 and no run, and a secret param is masked in the
 * API's run.
 */
class InjectionServerTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void hostileApiParamsAreDataAndNulIsRefused() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    Path pwned = dir.resolve("pwned");
    List<String> values = Hostile.values(pwned);
    Files.writeString(pipelines.resolve("inject.yaml"), Hostile.pipeline("inject", values));
    Files.writeString(
        pipelines.resolve("masked.yaml"),
        """
        name: masked
        params: { key: { type: string, secret: true } }
        steps:
          a: { run: 'echo "key ${{ params.key }}"' }
        """);
    try (Servers servers = new Servers(home, dir)) {
      Servers.Server server = servers.start(pipelines);
      Map<String, Object> body = new LinkedHashMap<>();
      for (int i = 0; i < values.size(); i++) {
        body.put("p" + i, values.get(i));
      }

      var nul =
          servers.postJson(
              server.url() + "/api/pipelines/inject/runs",
              "{\"p0\":\"a\\u0000b\",\"p1\":\"x\",\"p2\":\"x\",\"p3\":\"x\",\"p4\":\"x\",\"p5\":\"x\"}"
                  .getBytes(StandardCharsets.UTF_8));
      assertThat(nul.statusCode()).as(nul.body()).isEqualTo(400);
      assertThat(nul.body()).contains("NUL");
      assertThat(servers.count("select count(*) from runs")).isZero();

      var started =
          servers.postJson(
              server.url() + "/api/pipelines/inject/runs",
              Json.write(body).getBytes(StandardCharsets.UTF_8));
      assertThat(started.statusCode()).as(started.body()).isIn(200, 201, 202);
      long run = json(started).get("run_id").asLong();
      String secretKey = "api-secret-param-4711";
      var masked =
          servers.postJson(
              server.url() + "/api/pipelines/masked/runs",
              Json.write(Map.of("key", secretKey)).getBytes(StandardCharsets.UTF_8));
      long maskedRun = json(masked).get("run_id").asLong();
      for (long id : List.of(run, maskedRun)) {
        awaitTrue(
            "run " + id + " ends",
            Duration.ofSeconds(120),
            () ->
                servers.count(
                        "select count(*) from runs where id = "
                            + id
                            + " and status in ('succeeded', 'failed')")
                    == 1);
      }

      assertThat(servers.strings("select status from runs where id = " + run))
          .containsExactly("succeeded");
      assertThat(Hostile.stdout(servers.db, run))
          .containsExactlyInAnyOrderElementsOf(Hostile.expectedLines(values));
      assertThat(pwned).doesNotExist();
      var shown = servers.get(server.url() + "/api/runs/" + maskedRun);
      assertThat(shown.body()).contains("***").doesNotContain(secretKey);
      assertThat(Hostile.stdout(servers.db, maskedRun)).containsExactly("key ***");
    }
  }
}
