package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a separate process against a real PostgreSQL. */
class CliTest {
  @TempDir Path home;
  @TempDir Path dir;
  TestDb.Url db;
  Kiln kiln;

  static final Path HELLO =
      Path.of("..", "pipelines", "hello", "hello.yaml").toAbsolutePath().normalize();

  @BeforeEach
  void setUp() {
    db = TestDb.freshUrl();
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()),
            dir);
  }

  private long count(String table) throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select count(*) from information_schema.tables where table_name = '"
                        + table
                        + "'")) {
      rs.next();
      if (rs.getLong(1) == 0) {
        return 0;
      }
    }
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs = c.createStatement().executeQuery("select count(*) from " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void helloRunsToSuccessAndPrintsTheSummaryAsJson() throws Exception {
    var r = kiln.run("run", HELLO.toString(), "-p", "shout=true", "--json");
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    JsonNode j = Json.MAPPER.readTree(r.out());
    assertThat(j.get("status").asText()).isEqualTo("succeeded");
    assertThat(j.get("pipeline").asText()).isEqualTo("hello");
    assertThat(j.get("steps")).hasSize(6);
    JsonNode report = j.get("steps").get(4);
    assertThat(report.get("id").asText()).isEqualTo("report");
    assertThat(report.get("outputs").get("summary").asText()).isEqualTo("2 words, 10 letters");
    assertThat(report.get("attempts").asInt()).isEqualTo(1);
    assertThat(report.get("started_at").asText()).isNotBlank();
    assertThat(j.get("steps").get(5).get("status").asText()).isEqualTo("succeeded");
    assertThat(r.err()).contains("report").contains("succeeded");

    long runId = j.get("run_id").asLong();
    var logs = kiln.run("logs", String.valueOf(runId), "shout");
    assertThat(logs.exit()).isEqualTo(0);
    assertThat(logs.out()).contains("HELLO, WORLD");
    var runs = kiln.run("runs", "--json");
    assertThat(Json.MAPPER.readTree(runs.out()).get(0).get("run_id").asLong()).isEqualTo(runId);
    var show = kiln.run("runs", "show", String.valueOf(runId));
    assertThat(show.exit()).isEqualTo(0);
    assertThat(show.out())
        .startsWith("run " + runId + " of hello: succeeded (manual, started ")
        .contains("params: shout=true")
        .containsPattern("(?m)^report\\s+succeeded\\s+1\\s+\\d+\\.\\ds$")
        .containsPattern("(?m)^shout\\s+succeeded\\s+1\\s+\\d+\\.\\ds$");
    var missing = kiln.run("runs", "show", "999");
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err().strip()).isEqualTo("kiln: no run 999 (see 'kiln runs')");
  }

  @Test
  void conditionalStepIsSkippedByDefault() throws Exception {
    var r = kiln.run("run", HELLO.toString(), "--json");
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    JsonNode shout = Json.MAPPER.readTree(r.out()).get("steps").get(5);
    assertThat(shout.get("status").asText()).isEqualTo("skipped");
  }

  @Test
  void failedRunExitsOneAndRetryRunsOnlyWhatFailed() throws Exception {
    Path marker = dir.resolve("fixed");
    Path p = dir.resolve("fail.yaml");
    Files.writeString(
        p,
        """
        name: fail-once
        steps:
          prepare: { run: 'echo "n=1" >> "$KILN_OUTPUTS"' }
          train:
            needs: [prepare]
            run: 'test -f "%s" || { echo "no data yet" >&2; exit 4; }'
        """
            .formatted(marker));
    var first = kiln.run("run", p.toString(), "--json");
    assertThat(first.exit()).isEqualTo(1);
    long runId = Json.MAPPER.readTree(first.out()).get("run_id").asLong();
    assertThat(first.err()).contains("train").contains("exit code 4");

    Files.writeString(marker, "");
    var retry = kiln.run("retry", String.valueOf(runId), "--json");
    assertThat(retry.exit()).as(retry.err()).isEqualTo(0);
    JsonNode steps = Json.MAPPER.readTree(retry.out()).get("steps");
    assertThat(steps.get(0).get("reused").asBoolean()).isTrue();
    assertThat(steps.get(1).get("status").asText()).isEqualTo("succeeded");
  }

  @Test
  void invalidPipelineExitsTwoWithEveryErrorAndWritesNothing() throws Exception {
    Path p = dir.resolve("bad.yaml");
    Files.writeString(
        p,
        """
        name: Bad Name
        steps:
          a: { run: echo, need: [b] }
          b: { needs: [c], run: echo }
        """);
    var v = kiln.run("validate", p.toString());
    assertThat(v.exit()).isEqualTo(2);
    assertThat(v.err().lines())
        .hasSizeGreaterThanOrEqualTo(3)
        .allSatisfy(l -> assertThat(l).startsWith(p + ":"));
    assertThat(v.err()).contains("did you mean 'needs'");
    var r = kiln.run("run", p.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    assertThat(count("runs")).isZero();
  }

  @Test
  void unknownOrMistypedParamsExitTwoAndWriteNothing() throws Exception {
    var unknown = kiln.run("run", HELLO.toString(), "-p", "whom=me");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("unknown param 'whom'").contains("did you mean 'who'");
    var typed = kiln.run("run", HELLO.toString(), "-p", "shout=maybe");
    assertThat(typed.exit()).isEqualTo(2);
    assertThat(typed.err()).contains("shout");
    var malformed = kiln.run("run", HELLO.toString(), "-p", "noequals");
    assertThat(malformed.exit()).isEqualTo(2);
    assertThat(malformed.err()).contains("KEY=VALUE");
    assertThat(count("runs")).isZero();
  }

  @Test
  void matrixRunPrintsEveryCombinationAndRetryRerunsOnlyTheFailedOne() throws Exception {
    Path marker = dir.resolve("fixed");
    Path p = dir.resolve("matrix.yaml");
    Files.writeString(
        p,
        """
        name: sweep
        steps:
          train:
            matrix: { lr: [0.1, 0.01], seed: [1, 2] }
            run: |
              if [ "${{ matrix.lr }}/${{ matrix.seed }}" = 0.01/2 ] && [ ! -f "%s" ]; then
                echo "diverged" >&2; exit 5
              fi
              echo "trained ${{ matrix.lr }}/${{ matrix.seed }}"
              echo "acc=${{ matrix.seed }}" >> "$KILN_OUTPUTS"
              echo "loss=${{ matrix.lr }}" >> "$KILN_METRICS"
          report:
            needs: [train]
            run: echo 'accs=${{ steps.train.outputs.acc }}' >> "$KILN_OUTPUTS"
        """
            .formatted(marker));
    var first = kiln.run("run", p.toString());
    assertThat(first.exit()).as(first.err()).isEqualTo(1);
    assertThat(first.out()).contains("(2 steps, 5 tasks)");
    for (String t :
        new String[] {"train[lr=0.1,seed=1]", "train[lr=0.1,seed=2]", "train[lr=0.01,seed=1]"}) {
      assertThat(first.out()).containsPattern("(?m)^.*\\Q" + t + "\\E\\s+succeeded$");
    }
    assertThat(first.out())
        .containsPattern("(?m)^.*\\Qtrain[lr=0.01,seed=2]\\E\\s+failed\\s+\\(exit code 5\\)")
        .containsPattern("(?m)^.*report\\s+skipped\\s+\\(needs 'train', which failed\\)")
        // The metric three combinations wrote, as the range of their values.
        .contains("metrics: loss=0.01..0.1 (3 tasks)");
    var m = java.util.regex.Pattern.compile("^run (\\d+) of sweep").matcher(first.out());
    assertThat(m.find()).isTrue();
    String runId = m.group(1);

    var logs = kiln.run("logs", runId, "train");
    assertThat(logs.exit()).isEqualTo(0);
    assertThat(logs.out())
        .contains("[train[lr=0.1,seed=2]] trained 0.1/2")
        .contains("[train[lr=0.01,seed=2]] diverged");

    Files.writeString(marker, "");
    var retry = kiln.run("retry", runId, "--json");
    assertThat(retry.exit()).as(retry.err()).isEqualTo(0);
    JsonNode train = Json.MAPPER.readTree(retry.out()).get("steps").get(0);
    assertThat(train.get("status").asText()).isEqualTo("succeeded");
    assertThat(train.get("outputs").get("acc").toString()).isEqualTo("[\"1\",\"2\",\"1\",\"2\"]");
    JsonNode tasks = train.get("tasks");
    assertThat(tasks).hasSize(4);
    for (int i = 0; i < 3; i++) {
      assertThat(tasks.get(i).has("reused")).as(tasks.get(i).toString()).isTrue();
    }
    assertThat(tasks.get(3).get("name").asText()).isEqualTo("train[lr=0.01,seed=2]");
    assertThat(tasks.get(3).has("reused")).isFalse();
    assertThat(tasks.get(3).get("matrix").toString()).isEqualTo("{\"lr\":0.01,\"seed\":2}");
    assertThat(
            Json.MAPPER
                .readTree(retry.out())
                .get("steps")
                .get(1)
                .get("outputs")
                .get("accs")
                .asText())
        .isEqualTo("[\"1\",\"2\",\"1\",\"2\"]");
    assertThat(retry.err())
        .containsPattern("\\Qtrain[lr=0.01,seed=2]\\E\\s+running")
        .doesNotContainPattern("\\Qtrain[lr=0.1,seed=1]\\E\\s+running");
    // kiln runs --json gives each run the same summary: the matrix step once, with its tasks.
    JsonNode listed = Json.MAPPER.readTree(kiln.run("runs", "--json").out()).get(0);
    assertThat(listed.get("steps")).hasSize(2);
    assertThat(listed.get("steps").get(0).get("tasks")).hasSize(4);
  }

  @Test
  void hostileFilesGetOneClearErrorEach() throws Exception {
    Path empty = dir.resolve("empty.yaml");
    Files.writeString(empty, "");
    Path binary = dir.resolve("binary.yaml");
    Files.write(binary, new byte[] {0x7f, 'E', 'L', 'F', 0, 1, 2, 3, (byte) 0xff});
    Path bomb = dir.resolve("bomb.yaml");
    StringBuilder b = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
      b.append((char) ('a' + i)).append(": &").append((char) ('a' + i)).append(" [");
      b.append(("*" + (char) ('a' + i - 1) + ", ").repeat(9)).append("]\n");
    }
    Files.writeString(bomb, b.toString());
    for (Path p : new Path[] {empty, binary, bomb, dir.resolve("missing.yaml")}) {
      var r = kiln.run("validate", p.toString());
      assertThat(r.exit()).as(p.toString()).isEqualTo(2);
      assertThat(r.err())
          .as(p.toString())
          .contains(p.getFileName().toString())
          .doesNotContain("Exception")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void twoRunsAtOnceShareOneEmbeddedDatabase() throws Exception {
    Kiln embedded = new Kiln(Map.of("KILN_HOME", home.resolve("embedded").toString()), dir);
    try {
      Process a = embedded.start("run", HELLO.toString(), "--json");
      Process b = embedded.start("run", HELLO.toString(), "--json", "-p", "who=again");
      var ra = embedded.finish(a, 180);
      var rb = embedded.finish(b, 180);
      assertThat(ra.exit()).as(ra.err()).isEqualTo(0);
      assertThat(rb.exit()).as(rb.err()).isEqualTo(0);
      long idA = Json.MAPPER.readTree(ra.out()).get("run_id").asLong();
      long idB = Json.MAPPER.readTree(rb.out()).get("run_id").asLong();
      assertThat(idA).isNotEqualTo(idB);
      var runs = embedded.run("runs", "--json");
      assertThat(Json.MAPPER.readTree(runs.out())).hasSize(2);
    } finally {
      embedded.run("db", "stop");
    }
  }
}
