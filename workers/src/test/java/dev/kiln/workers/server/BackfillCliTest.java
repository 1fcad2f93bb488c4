package dev.kiln.workers.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln backfill} and cron validation through the real command line. */
class BackfillCliTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void backfillCreatesTheRunsTheScheduleWouldHaveMadeOnceEach() throws Exception {
    Path file = dir.resolve("nightly.yaml");
    Files.writeString(
        file,
        """
        name: nightly
        triggers:
          - cron: "0 3 * * *"
            timezone: Europe/Berlin
        steps:
          at:
            run: echo "at=${{ run.scheduled_at }}" >> "$KILN_OUTPUTS"
        """);
    try (Servers s = new Servers(home, dir)) {
      var r =
          s.kiln.run(
              "backfill",
              file.toString(),
              "--from",
              "2026-11-01",
              "--to",
              "2026-11-03T12:00",
              "--parallel",
              "2");
      assertThat(r.exit()).as(r.err()).isEqualTo(0);
      assertThat(
              s.strings("select scheduled_at at time zone 'UTC' from runs order by scheduled_at"))
          .containsExactly("2026-11-01 02:00:00", "2026-11-02 02:00:00", "2026-11-03 02:00:00");
      assertThat(s.strings("select distinct status || ' ' || trigger from runs"))
          .containsExactly("succeeded backfill");

      var again =
          s.kiln.run("backfill", "nightly", "--from", "2026-11-01", "--to", "2026-11-04T12:00");
      assertThat(again.exit()).as(again.err()).isEqualTo(0);
      assertThat(again.out()).contains("exists; not run again");
      assertThat(s.count("select count(*) from runs")).isEqualTo(4);
    }
  }

  @Test
  void invalidCronAndTimezoneAreReportedAtTheirLineAndColumn() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(
        file,
        """
        name: bad
        triggers:
          - cron: "0 25 * * *"
            timezone: Mars/Base
        steps:
          a:
            run: "true"
        """);
    // Without an API token: creating one would open (and migrate) the store before the test.
    try (Servers s = new Servers(home, dir, false)) {
      var r = s.kiln.run("validate", file.toString());
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err())
          .contains("bad.yaml:3:11: invalid cron expression '0 25 * * *'")
          .contains("bad.yaml:4:15: unknown timezone 'Mars/Base'");
      var backfill =
          s.kiln.run("backfill", "nowhere", "--from", "2026-11-01", "--to", "2026-10-01");
      assertThat(backfill.exit()).isEqualTo(2);
      assertThat(backfill.err()).contains("--to 2026-10-01 is before --from 2026-11-01");
      assertThat(
              s.count("select count(*) from information_schema.tables where table_name = 'runs'"))
          .as("nothing opened the store")
          .isZero();
    }
  }
}
