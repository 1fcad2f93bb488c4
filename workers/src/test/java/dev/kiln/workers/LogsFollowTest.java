package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln logs RUN --follow} as a separate process, following a run another process drives. */
class LogsFollowTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void followPrintsLinesAsTheyArriveAndEndsWithTheRun() throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()),
            dir);
    Path gate = dir.resolve("gate");
    Path file = dir.resolve("follow.yaml");
    // The step prints its second line only after the test has seen the first one through
    // 'kiln logs --follow', so the follower must have been following, not reading at the end.
    Files.writeString(
        file,
        """
        name: follow
        steps:
          talk:
            run: |
              echo first
              while [ ! -f "%s" ]; do sleep 0.05; done
              echo second >&2
          after: { needs: [talk], run: echo third }
        """
            .formatted(gate));
    Process run = kiln.start("run", file.toString(), "--json");
    await(() -> firstRunId(db) > 0, Duration.ofSeconds(60), "the run to exist");
    Process logs = kiln.start("logs", String.valueOf(firstRunId(db)), "--follow");
    await(
        () -> outSoFar(kiln, logs).contains("[talk] first"),
        Duration.ofSeconds(60),
        "the follower to print the first line");
    assertThat(outSoFar(kiln, logs)).doesNotContain("second");
    Files.createFile(gate);

    var followed = kiln.finish(logs, 60);
    assertThat(followed.exit()).as(followed.err()).isZero();
    assertThat(followed.out())
        .containsSubsequence("[talk] first", "[talk] second", "[after] third");
    assertThat(kiln.finish(run, 60).exit()).isZero();

    var missing = kiln.run("logs", String.valueOf(firstRunId(db)), "nope", "--follow");
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err().strip())
        .isEqualTo("kiln: run " + firstRunId(db) + " ended; its step 'nope' never started");
  }

  private static String outSoFar(Kiln kiln, Process p) {
    try {
      return kiln.outSoFar(p);
    } catch (java.io.IOException e) {
      return "";
    }
  }

  private static long firstRunId(TestDb.Url db) {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs = c.createStatement().executeQuery("select coalesce(min(id), 0) from runs")) {
      rs.next();
      return rs.getLong(1);
    } catch (java.sql.SQLException notYet) {
      return 0; // the schema is not there yet
    }
  }
}
