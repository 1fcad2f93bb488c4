package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The step cache through kiln run, kiln cache and --no-cache as separate processes. */
class CacheCliTest {
  @TempDir Path home;
  @TempDir Path dir;
  Kiln kiln;
  Path pipeline;
  Path counter;

  @BeforeEach
  void setUp() throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()),
            dir);
    counter = dir.resolve("ran");
    pipeline = dir.resolve("cached.yaml");
    Files.writeString(
        pipeline,
        """
        name: cached-cli
        steps:
          make:
            cache: true
            run: |
              echo x >> "%s"
              echo "answer=42" >> "$KILN_OUTPUTS"
          use:
            needs: [make]
            run: echo "got=${{ steps.make.outputs.answer }}" >> "$KILN_OUTPUTS"
        """
            .formatted(counter));
  }

  @Test
  void kilnRunShowsACachedStepAsCachedAndNoCacheRunsIt() throws Exception {
    var first = kiln.run("run", pipeline.toString());
    assertThat(first.exit()).as(first.err()).isEqualTo(0);
    assertThat(first.out()).doesNotContain("cached  (");

    var second = kiln.run("run", pipeline.toString(), "--json");
    assertThat(second.exit()).as(second.err()).isEqualTo(0);
    assertThat(second.err()).containsPattern("== +make +cached  \\(result of run 1 step make\\)");
    JsonNode make = Json.MAPPER.readTree(second.out()).get("steps").get(0);
    assertThat(make.get("cached").asBoolean()).isTrue();
    assertThat(make.get("outputs").get("answer").asText()).isEqualTo("42");
    assertThat(
            Json.MAPPER
                .readTree(second.out())
                .get("steps")
                .get(1)
                .get("outputs")
                .get("got")
                .asText())
        .isEqualTo("42");
    assertThat(Files.readAllLines(counter)).hasSize(1);

    var logs = kiln.run("logs", "2", "make");
    assertThat(logs.out()).contains("cached: result of run 1 step make");

    var bypass = kiln.run("run", pipeline.toString(), "--no-cache");
    assertThat(bypass.exit()).as(bypass.err()).isEqualTo(0);
    assertThat(bypass.out()).contains("(--no-cache)").doesNotContain("cached  (");
    assertThat(Files.readAllLines(counter)).hasSize(2);

    var list = kiln.run("cache", "list", "--json");
    assertThat(list.exit()).as(list.err()).isEqualTo(0);
    JsonNode entries = Json.MAPPER.readTree(list.out());
    assertThat(entries).hasSize(2);
    assertThat(entries.get(0).get("run_id").asLong()).isEqualTo(3);
    assertThat(entries.get(0).get("step").asText()).isEqualTo("make");

    var clear = kiln.run("cache", "clear", "cached-cli");
    assertThat(clear.out()).contains("dropped 2 cache entries of cached-cli");
    var after = kiln.run("run", pipeline.toString());
    assertThat(after.out()).doesNotContain("cached  (");
    assertThat(Files.readAllLines(counter)).hasSize(3);
  }

  @Test
  void helpDescribesNoCache() throws Exception {
    var help = kiln.run("run", "--help");
    assertThat(help.out()).contains("--no-cache");
    var remote = kiln.run("run", "--server", "http://localhost:1", "hello", "--no-cache");
    assertThat(remote.exit()).isEqualTo(2);
    assertThat(remote.err().strip())
        .isEqualTo("kiln: --no-cache is not supported with --server: the server starts the run");
    var cache = kiln.run("cache", "--help");
    assertThat(cache.out()).contains("list").contains("clear");
  }
}
