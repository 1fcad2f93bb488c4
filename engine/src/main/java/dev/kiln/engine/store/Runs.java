package dev.kiln.engine.store;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.store.Sql.Jsonb;
import dev.kiln.engine.task.RunNotFoundException;
import dev.kiln.engine.task.RunStatus;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code runs} rows of the life cycle, their events and wake-ups, inside the caller's
 * transaction (the run service's, which locks the run row first).
 */
public final class Runs {
  private Runs() {}

  /** What planning needs of a run, read under its lock. */
  public record RunRow(
      RunStatus status,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      String pipelineFile,
      String pipelineVersion,
      Instant scheduledAt) {}

  /** What a retry needs of the run it retries. */
  public record RetrySource(
      RunStatus status,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      String pipelineVersion,
      String pipelineFile,
      String source) {}

  private static final String RUN_ROW =
      """
      select r.status, r.params::text, r.trigger, r.base_dir, r.pipeline_file, r.pipeline_version,
             r.scheduled_at
        from runs r where r.id = ?""";

  /** {@link #RUN_ROW}, locking the row against other completions and status changes. */
  static final String LOCK_RUN_ROW = RUN_ROW + " for no key update";

  static RunRow runRow(ResultSet rs) throws SQLException {
    return new RunRow(
        RunStatus.of(rs.getString(1)),
        SecretBox.process().openParams(Json.readMap(rs.getString(2))),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getString(6),
        Sql.instant(rs, "scheduled_at"));
  }

  /** A run just inserted: its id and its row as {@link #lock} would read it. */
  public record NewRun(long id, RunRow row) {}

  /**
   * Stores the pipeline version if new and inserts a queued run with its event, in one round trip
   * (on every POST of a run); returns the run's id and row.
   */
  public static NewRun insert(
      Connection c,
      Pipeline p,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      Long retryOf,
      Instant scheduledAt)
      throws SQLException {
    // The foreign keys (runs -> pipeline_versions, run_events -> runs) are checked at the end of
    // the statement, so they see the rows its other parts inserted.
    return Sql.one(
            c,
            """
        with v as (
          insert into pipeline_versions (version, name, source_file, source) values (?, ?, ?, ?)
          on conflict (version) do nothing),
        r as (
          insert into runs (pipeline, pipeline_version, pipeline_file, params, trigger, base_dir,
                            status, retry_of, scheduled_at)
          values (?, ?, ?, ?, ?, ?, 'queued', ?, ?)
          returning *),
        e as (
          insert into run_events (run_id, step_id, status, detail)
          select id, null, 'queued', ? from r)
        select r.status, r.params::text, r.trigger, r.base_dir, r.pipeline_file,
               r.pipeline_version, r.scheduled_at, r.id
          from r""",
            rs -> new NewRun(rs.getLong(8), runRow(rs)),
            p.source().version(),
            p.name(),
            p.source().file(),
            p.source().text(),
            p.name(),
            p.source().version(),
            p.source().file(),
            Jsonb.of(SecretBox.process().sealParams(params, p.params())),
            trigger,
            baseDir,
            retryOf,
            scheduledAt,
            "trigger " + trigger)
        .orElseThrow();
  }

  /** Records the kiln run process that drives the run, and the run's tags. */
  public static void setDriver(Connection c, long runId, String driver, Map<String, String> tags)
      throws SQLException {
    Sql.update(
        c,
        "update runs set driver = ?, driver_seen = now(), tags = ? where id = ?",
        driver,
        Jsonb.of(tags),
        runId);
  }

  /** The run's {@code cache: true} steps run instead of reading the cache. */
  public static void bypassCache(Connection c, long runId) throws SQLException {
    Sql.update(c, "update runs set no_cache = true where id = ?", runId);
  }

  /**
   * Locks the run row and returns what planning needs of it. NO KEY UPDATE, not UPDATE: inserts
   * that reference the run (events, tasks) take KEY SHARE locks on it and must not wait for, or
   * deadlock with, this one.
   */
  public static RunRow lock(Connection c, long runId) throws SQLException {
    return Sql.one(c, LOCK_RUN_ROW, Runs::runRow, runId)
        .orElseThrow(() -> new RunNotFoundException(runId));
  }

  /** The run as {@link #lock} reads it, for a caller that holds the lock already. */
  public static RunRow read(Connection c, long runId) throws SQLException {
    return Sql.one(c, RUN_ROW, Runs::runRow, runId)
        .orElseThrow(() -> new RunNotFoundException(runId));
  }

  /** Locks the run row and returns its status; empty when there is no such run. */
  public static Optional<RunStatus> lockStatus(Connection c, long runId) throws SQLException {
    return Sql.one(
        c,
        "select status from runs where id = ? for no key update",
        rs -> RunStatus.of(rs.getString(1)),
        runId);
  }

  /**
   * Sets the run's status (started and finished times with it) and its event in one round trip, and
   * wakes its watchers (kiln_runs, kiln_events) after the commit.
   */
  public static void setStatus(Connection c, long runId, RunStatus s) throws SQLException {
    boolean set =
        !Sql.query(
                c,
                """
        with u as (
          update runs set status = ?,
                 started_at = coalesce(started_at, now()),
                 finished_at = case when ? then coalesce(finished_at, now()) else null end
           where id = ?
          returning id),
        e as (
          insert into run_events (run_id, step_id, status) select id, null, ? from u)
        select id from u""",
                rs -> null,
                s.db(),
                s.terminal(),
                runId,
                s.db())
            .isEmpty();
    if (set) {
      Wakeups.send(c, "kiln_runs", runId + " " + s.db());
      notifyEvents(c, runId);
    }
  }

  /** Marks the run cancelled with its event; its tasks are {@link Tasks#cancelRun}'s. */
  public static void markCancelled(Connection c, long runId, String why) throws SQLException {
    Sql.update(c, "update runs set status = 'cancelled', finished_at = now() where id = ?", runId);
    event(c, runId, null, "cancelled", why);
  }

  /** Wakes the workers (to heartbeat and stop the run's steps) and the run's watchers. */
  public static void notifyCancelled(Connection c, long runId) throws SQLException {
    Wakeups.send(c, "kiln_cancel", String.valueOf(runId));
    Wakeups.send(c, "kiln_runs", runId + " cancelled");
  }

  public static Optional<RetrySource> retrySource(Connection c, long runId) throws SQLException {
    return Sql.one(
        c,
        """
        select r.status, r.params::text, r.trigger, r.base_dir, r.pipeline_version,
               r.pipeline_file, v.source
          from runs r join pipeline_versions v on v.version = r.pipeline_version
         where r.id = ?""",
        rs ->
            new RetrySource(
                RunStatus.of(rs.getString(1)),
                SecretBox.process().openParams(Json.readMap(rs.getString(2))),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getString(6),
                rs.getString(7)),
        runId);
  }

  /** A retry carries on the run it retries: same tags, and --no-cache still holds. */
  public static void inherit(Connection c, long newId, long oldId) throws SQLException {
    Sql.update(
        c,
        """
        update runs n set tags = o.tags, no_cache = o.no_cache from runs o
         where n.id = ? and o.id = ?""",
        newId,
        oldId);
  }

  public static Optional<String> pipelineSource(Connection c, String version) throws SQLException {
    return Sql.one(
        c,
        "select source from pipeline_versions where version = ?",
        rs -> rs.getString(1),
        version);
  }

  /** Records that {@code driver} still drives the run; false when another took it over. */
  public static boolean touchDriver(Connection c, long runId, String driver) throws SQLException {
    return Sql.update(
            c, "update runs set driver_seen = now() where id = ? and driver = ?", runId, driver)
        == 1;
  }

  /**
   * Takes over, in one statement, the newest unfinished run of this version and params whose driver
   * is one of {@code deadDrivers} or silent for longer than {@code stale}.
   */
  public static Optional<Long> takeOver(
      Connection c,
      Pipeline p,
      Map<String, Object> params,
      String driver,
      Collection<String> deadDrivers,
      Duration stale)
      throws SQLException {
    return Sql.one(
        c,
        """
        update runs set driver = ?, driver_seen = now()
         where id = (select id from runs
                      where pipeline_version = ? and params = ?::jsonb
                        and status in ('queued', 'running') and driver is not null
                        and (driver = any(?) or driver_seen < now() - ? * interval '1 millisecond')
                      order by id desc limit 1
                      for no key update skip locked)
        returning id""",
        rs -> rs.getLong(1),
        driver,
        p.source().version(),
        Json.write(SecretBox.process().sealParams(params, p.params())),
        deadDrivers.toArray(String[]::new),
        stale.toMillis());
  }

  /** A run whose driver went silent: who drove it and how long ago it was last seen. */
  public record Abandoned(long runId, String driver, long silentSeconds) {}

  /**
   * Unfinished runs whose driver is one of {@code deadDrivers} or silent for longer than {@code
   * stale}, oldest first.
   */
  public static List<Abandoned> abandoned(
      Connection c, Collection<String> deadDrivers, Duration stale) throws SQLException {
    return Sql.query(
        c,
        """
        select id, driver, extract(epoch from now() - driver_seen)::bigint from runs
         where status in ('queued', 'running') and driver is not null
           and (driver = any(?) or driver_seen < now() - ? * interval '1 millisecond')
         order by id""",
        rs -> new Abandoned(rs.getLong(1), rs.getString(2), rs.getLong(3)),
        deadDrivers.toArray(String[]::new),
        stale.toMillis());
  }

  /**
   * Releases, in one statement, the unfinished runs whose driver is gone (one of {@code
   * deadDrivers} or silent for longer than {@code stale}) from that driver: {@code driver} is
   * cleared, so the run goes on as a server-started run does, its steps run by whichever workers
   * serve their queues, and an event says who took it over.
   */
  public static List<Long> adoptAbandoned(
      Connection c, Collection<String> deadDrivers, Duration stale, String by) throws SQLException {
    return Sql.query(
        c,
        """
        with gone as (
          select id, driver from runs
           where status in ('queued', 'running') and driver is not null
             and (driver = any(?) or driver_seen < now() - ? * interval '1 millisecond')
           for no key update skip locked),
        adopted as (
          update runs r set driver = null from gone where r.id = gone.id
          returning r.id, gone.driver),
        events as (
          insert into run_events (run_id, step_id, status, detail)
          select id, null, 'running', 'its driver ' || driver || ' stopped; ' || ? || ' continues it'
            from adopted)
        select id from adopted order by id""",
        rs -> rs.getLong(1),
        deadDrivers.toArray(String[]::new),
        stale.toMillis(),
        by);
  }

  /**
   * Makes {@code driver} the driver of an unfinished run, unless its driver is alive: another than
   * those in {@code deadDrivers} that was seen within {@code stale}. Empty when the run does not
   * exist; otherwise the driver in the way (null when taken).
   */
  public static Optional<String> continueRun(
      Connection c, long runId, String driver, Collection<String> deadDrivers, Duration stale)
      throws SQLException {
    Optional<String[]> row =
        Sql.one(
            c,
            """
            select status, case when driver is not null and not driver = any(?)
                                 and driver_seen >= now() - ? * interval '1 millisecond'
                                then driver end
              from runs where id = ? for no key update""",
            rs -> new String[] {rs.getString(1), rs.getString(2)},
            deadDrivers.toArray(String[]::new),
            stale.toMillis(),
            runId);
    if (row.isEmpty()) {
      return Optional.empty();
    }
    if (row.get()[1] != null) {
      return Optional.of(row.get()[1]);
    }
    Sql.update(c, "update runs set driver = ?, driver_seen = now() where id = ?", driver, runId);
    return Optional.of("");
  }

  /** Unfinished runs that have a driver: run id -> driver. */
  public static Map<Long, String> driven(Connection c) throws SQLException {
    Map<Long, String> out = new LinkedHashMap<>();
    for (var row :
        Sql.query(
            c,
            "select id, driver from runs where status in ('queued', 'running') and driver is not null",
            rs -> Map.entry(rs.getLong(1), rs.getString(2)))) {
      out.put(row.getKey(), row.getValue());
    }
    return out;
  }

  /** The unfinished runs of a pipeline, oldest first. */
  public static List<Long> active(Connection c, String pipeline) throws SQLException {
    return Sql.query(
        c,
        "select id from runs where pipeline = ? and status in ('queued', 'running') order by id",
        rs -> rs.getLong(1),
        pipeline);
  }

  public static void event(Connection c, long runId, String stepId, String status, String detail)
      throws SQLException {
    Sql.update(
        c,
        "insert into run_events (run_id, step_id, status, detail) values (?, ?, ?, ?)",
        runId,
        stepId,
        status,
        detail);
  }

  /** Wakes whoever follows the run's events. */
  public static void notifyEvents(Connection c, long runId) throws SQLException {
    Wakeups.send(c, "kiln_events", String.valueOf(runId));
  }
}
