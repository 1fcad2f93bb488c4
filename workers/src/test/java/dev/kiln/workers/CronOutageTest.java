package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.EmbeddedServer;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code kiln server} with three cron pipelines firing every two seconds, one per {@code
 * catchup} policy, while its embedded PostgreSQL is stopped (SIGINT to the postmaster) across
 * several firing times and started again.
 */
class CronOutageTest {
  private static final long EVERY_MS = 2_000;

  @TempDir Path home;
  @TempDir Path dir;
  Kiln kiln;
  Engine engine;
  Process server;

  @BeforeEach
  void setUp() {
    EmbeddedServer db = EmbeddedServer.ensureRunning(home);
    kiln = new Kiln(Map.of("KILN_HOME", home.toString()), dir);
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(db.jdbcUrl(), EmbeddedServer.USER, db.password(), 2));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.destroy();
      if (!server.waitFor(20, TimeUnit.SECONDS)) {
        server.destroyForcibly().waitFor();
      }
    }
    engine.close();
    EmbeddedServer.stop(home);
  }

  private record Firing(Instant scheduledAt, String status) {
    boolean onSchedule() {
      return scheduledAt.toEpochMilli() % EVERY_MS == 0;
    }
  }

  private List<Firing> firings(String pipeline) {
    return engine
        .db()
        .tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select scheduled_at, status from runs
         where pipeline = ? and trigger = 'cron' order by scheduled_at""",
                    rs -> new Firing(rs.getTimestamp(1).toInstant(), rs.getString(2)),
                    pipeline));
  }

  private long count(String sql, Object... args) {
    return engine.db().tx().inTransaction(c -> Sql.query(c, sql, rs -> rs.getLong(1), args).get(0));
  }

  private boolean laterFiringsSucceeded(String pipeline, Instant after, int n) {
    try {
      return firings(pipeline).stream()
              .filter(f -> f.onSchedule() && f.scheduledAt().isAfter(after))
              .filter(f -> f.status().equals("succeeded"))
              .count()
          >= n;
    } catch (RuntimeException storeNotBackYet) {
      return false;
    }
  }

  @Test
  void firingsDueWhileTheStoreIsDownFollowEachTriggersCatchupAndNoneIsDoubled() throws Exception {
    Path pipelines = Files.createDirectories(dir.resolve("pipelines"));
    List<String> policies = List.of("none", "last", "all");
    for (String catchup : policies) {
      Files.writeString(
          pipelines.resolve(catchup + ".yaml"),
          """
          name: tick-%s
          triggers:
            - cron: "*/2 * * * * ?"
              catchup: %s
          steps:
            at:
              run: echo "at=${{ run.scheduled_at }}" >> "$KILN_OUTPUTS"
          """
              .formatted(catchup, catchup));
    }
    server = kiln.start("server", "--host", "127.0.0.1", "--port", "0", "--pipelines", "pipelines");
    Instant started = Instant.now();
    for (String catchup : policies) {
      Await.until(
          "two firings of tick-" + catchup + " to succeed",
          Duration.ofSeconds(90),
          () -> laterFiringsSucceeded("tick-" + catchup, started, 2));
    }

    Instant stopped = Instant.now();
    assertThat(EmbeddedServer.stop(home)).isTrue();
    Thread.sleep(10_000); // the outage itself: five firing times pass meanwhile
    Instant restarted = Instant.now();
    EmbeddedServer.ensureRunning(home);

    for (String catchup : policies) {
      Await.until(
          "three firings of tick-" + catchup + " after the store is back",
          Duration.ofSeconds(90),
          () -> laterFiringsSucceeded("tick-" + catchup, restarted, 3));
    }
    assertThat(server.isAlive()).as("kiln server still running").isTrue();

    // A firing taken (up to a second early) before the stop may still start its run late, with
    // its own time; every firing time after that, up to the restart, was due with the store away.
    Instant missedFrom = stopped.plusMillis(1_500);
    for (String catchup : policies) {
      String pipeline = "tick-" + catchup;
      List<Firing> all = firings(pipeline);
      List<Instant> missed =
          all.stream()
              .map(Firing::scheduledAt)
              .filter(t -> t.isAfter(missedFrom) && t.isBefore(restarted))
              .toList();
      List<Firing> offSchedule =
          all.stream().filter(f -> !f.onSchedule() && f.scheduledAt().isAfter(restarted)).toList();
      switch (catchup) {
        case "none" -> {
          assertThat(missed).as("runs for missed times of " + pipeline).isEmpty();
          assertThat(all)
              .as("every run of " + pipeline + " at a firing time")
              .allMatch(Firing::onSchedule);
        }
        case "last" -> {
          assertThat(missed).as("runs for missed times of " + pipeline).isEmpty();
          Instant firstOnSchedule =
              all.stream()
                  .filter(f -> f.onSchedule() && f.scheduledAt().isAfter(restarted))
                  .findFirst()
                  .orElseThrow()
                  .scheduledAt();
          assertThat(offSchedule)
              .as("the one catch-up run of " + pipeline + ", before its next firing time")
              .filteredOn(f -> f.scheduledAt().isBefore(firstOnSchedule))
              .hasSize(1);
        }
        default -> {
          // Every firing time from the first run to the last one has its run, the missed ones too.
          Instant first = all.get(0).scheduledAt();
          Instant last = all.get(all.size() - 1).scheduledAt();
          long times = (last.toEpochMilli() - first.toEpochMilli()) / EVERY_MS + 1;
          assertThat(all)
              .as("runs of " + pipeline)
              .allMatch(Firing::onSchedule)
              .hasSize((int) times);
          assertThat(missed)
              .as("runs for missed times of " + pipeline)
              .hasSizeGreaterThanOrEqualTo(3);
          assertThat(all)
              .as("runs of " + pipeline)
              .allMatch(f -> f.status().equals("succeeded") || f.scheduledAt().isAfter(restarted));
        }
      }
      // Nothing doubled: one run per scheduled time, each with exactly its own trigger key.
      assertThat(
              count(
                  "select count(*) - count(distinct scheduled_at) from runs where pipeline = ?",
                  pipeline))
          .as("runs of " + pipeline + " sharing a scheduled time")
          .isZero();
      assertThat(
              count(
                  """
                  select count(*) from runs r where r.pipeline = ? and r.trigger = 'cron'
                     and (select count(*) from trigger_keys k where k.run_id = r.id
                           and k.key = 'cron:' || r.pipeline || ':0:'
                               || (extract(epoch from r.scheduled_at) * 1000)::bigint) <> 1""",
                  pipeline))
          .as("runs of " + pipeline + " without exactly one trigger key of their firing")
          .isZero();
    }
  }
}
