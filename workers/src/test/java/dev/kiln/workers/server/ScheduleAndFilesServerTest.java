package dev.kiln.workers.server;

import static dev.kiln.workers.server.Servers.awaitTrue;
import static dev.kiln.workers.server.Servers.json;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Cron and file triggers of real kiln server processes. */
class ScheduleAndFilesServerTest {
  @TempDir Path home;
  @TempDir Path dir;

  static final String TICK =
      """
      name: tick
      triggers:
        - cron: "* * * * * ?"
          catchup: %s
      steps:
        at:
          run: echo "at=${{ run.scheduled_at }}" >> "$KILN_OUTPUTS"
      """;

  private Path pipelines(String name, String yaml) throws Exception {
    Path p = Files.createDirectories(dir.resolve("pipelines"));
    Files.writeString(p.resolve(name), yaml);
    return p;
  }

  @Test
  void everySecondScheduleFiresOncePerTickAcrossTwoServersOnOneDatabase() throws Exception {
    Path pipelines = pipelines("tick.yaml", TICK.formatted("none"));
    try (Servers servers = new Servers(home, dir)) {
      var a = servers.start(pipelines);
      servers.start(pipelines);
      Instant bothUp = Instant.now();
      awaitTrue(
          "6 ticks after both servers are up",
          Duration.ofSeconds(60),
          () ->
              servers.count(
                      "select count(*) from runs where trigger = 'cron' and scheduled_at > '"
                          + bothUp
                          + "'")
                  >= 6);

      assertThat(servers.count("select count(*) from qrtz_scheduler_state")).isEqualTo(2);
      // One query: the schedule keeps ticking, so two counts read apart could differ by a run.
      assertThat(servers.count("select count(*) - count(distinct scheduled_at) from runs"))
          .as("runs that share a scheduled time, or have none")
          .isZero();
      List<String> ticks =
          servers.strings(
              "select to_char(scheduled_at at time zone 'UTC', 'MS') "
                  + "from runs where scheduled_at > '"
                  + bothUp
                  + "'");
      assertThat(ticks).allSatisfy(ms -> assertThat(ms).isEqualTo("000"));

      long runId = Long.parseLong(servers.strings("select min(id) from runs").get(0));
      awaitTrue(
          "run " + runId + " succeeded",
          Duration.ofSeconds(30),
          () ->
              json(servers.get(a.url() + "/api/runs/" + runId))
                  .get("status")
                  .asText()
                  .equals("succeeded"));
      long scheduledAt =
          servers.count(
              "select (extract(epoch from scheduled_at) * 1000)::bigint from runs where id = "
                  + runId);
      String output =
          json(servers.get(a.url() + "/api/runs/" + runId))
              .get("steps")
              .get(0)
              .get("outputs")
              .get("at")
              .asText();
      assertThat(Instant.parse(output).toEpochMilli()).isEqualTo(scheduledAt);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "last", "all"})
  void killedServerCatchesUpMissedTicksAsConfigured(String catchup) throws Exception {
    Path pipelines = pipelines("tick.yaml", TICK.formatted(catchup));
    try (Servers servers = new Servers(home, dir)) {
      var first = servers.start(pipelines);
      awaitTrue(
          "two ticks",
          Duration.ofSeconds(60),
          () -> servers.count("select count(*) from runs") >= 2);
      servers.kill(first);
      Instant killed = Instant.now();
      awaitTrue(
          "5 s without a server",
          Duration.ofSeconds(10),
          () -> Instant.now().isAfter(killed.plusSeconds(5)));
      Instant restarted = Instant.now();
      servers.start(pipelines);
      awaitTrue(
          "ticks resume after the restart",
          Duration.ofSeconds(90),
          () ->
              servers.count(
                      "select count(*) from runs where scheduled_at > '"
                          + restarted
                          + "'"
                          + " and extract(milliseconds from scheduled_at)::int % 1000 = 0")
                  >= 3);

      long missedRuns =
          servers.count(
              "select count(*) from runs where scheduled_at > '"
                  + killed.plusSeconds(1)
                  + "' and scheduled_at < '"
                  + restarted
                  + "'");
      long fireNowRuns =
          servers.count(
              "select count(*) from runs where scheduled_at > '"
                  + restarted
                  + "' and extract(milliseconds from scheduled_at)::int % 1000 <> 0");
      switch (catchup) {
        case "none" -> {
          assertThat(missedRuns).isZero();
          assertThat(fireNowRuns).isZero();
        }
        case "last" -> {
          assertThat(missedRuns).isZero();
          assertThat(fireNowRuns).isGreaterThanOrEqualTo(1);
        }
        default -> assertThat(missedRuns).isGreaterThanOrEqualTo(3);
      }
      // One query: the schedule keeps ticking, so two counts read apart could differ by a run.
      assertThat(servers.count("select count(*) - count(distinct scheduled_at) from runs"))
          .as("runs that share a scheduled time, or have none")
          .isZero();
    }
  }

  @Test
  void fileCopiedInSlowChunksMakesOneRunOnceTheCopyIsComplete() throws Exception {
    Path inbox = Files.createDirectories(dir.resolve("inbox"));
    Path pipelines =
        pipelines(
            "ingest.yaml",
            """
        name: ingest
        params:
          file: { type: string }
        triggers:
          - files: { dir: %s, glob: "*.csv" }
        steps:
          count:
            run: echo "bytes=$(wc -c < '${{ params.file }}' | tr -d ' ')" >> "$KILN_OUTPUTS"
        """
                .formatted(inbox));
    try (Servers servers = new Servers(home, dir)) {
      var server = servers.start(pipelines);
      Files.writeString(inbox.resolve("notes.txt"), "not matched by the glob");
      byte[] chunk = new byte[1000];
      Arrays.fill(chunk, (byte) 'x');
      try (OutputStream out = Files.newOutputStream(inbox.resolve("data.csv"))) {
        for (int i = 0; i < 10; i++) {
          out.write(chunk);
          out.flush();
          assertThat(servers.count("select count(*) from runs"))
              .as("run before chunk %d", i)
              .isZero();
          Thread.sleep(300); // the slow writer under test, not synchronisation
        }
      }
      awaitTrue(
          "a run for data.csv",
          Duration.ofSeconds(30),
          () -> servers.count("select count(*) from runs") == 1);
      long runId = Long.parseLong(servers.strings("select id from runs").get(0));
      awaitTrue(
          "run " + runId + " succeeded",
          Duration.ofSeconds(30),
          () ->
              json(servers.get(server.url() + "/api/runs/" + runId))
                  .get("status")
                  .asText()
                  .equals("succeeded"));
      var summary = json(servers.get(server.url() + "/api/runs/" + runId));
      Path processed = inbox.resolve(".kiln/processed/data.csv");
      assertThat(summary.get("trigger").asText()).isEqualTo("files");
      assertThat(summary.get("params").get("file").asText()).isEqualTo(processed.toString());
      assertThat(summary.get("steps").get(0).get("outputs").get("bytes").asText())
          .isEqualTo("10000");
      assertThat(processed).hasSize(10_000);
      assertThat(inbox.resolve("data.csv")).doesNotExist();

      Files.writeString(inbox.resolve("second.csv"), "a,b\n");
      awaitTrue(
          "a run for second.csv",
          Duration.ofSeconds(30),
          () -> servers.count("select count(*) from runs") == 2);
      assertThat(servers.count("select count(*) from trigger_keys where key like 'file:%'"))
          .isEqualTo(2);
      assertThat(inbox.resolve("notes.txt")).exists();
    }
  }
}
