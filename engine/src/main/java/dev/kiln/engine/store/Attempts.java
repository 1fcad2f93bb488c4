package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The attempts of running tasks ({@code task_attempts}) and the row locks that decide what becomes
 * of them, inside the caller's transaction (which holds the run's lock).
 */
public final class Attempts {
  private Attempts() {}

  /** A running task's retry state, read under its row lock. */
  public record Held(
      long id,
      long runId,
      String stepId,
      int attempt,
      String worker,
      int maxAttempts,
      Duration backoff,
      boolean cancelRequested) {}

  /** A running task whose lease expired or whose worker is dead. */
  public record Expired(long taskId, long runId) {}

  /** Locks a running task if {@code t} is still its current attempt. */
  public static Optional<Held> lockHeld(Connection c, ClaimedTask t) throws SQLException {
    return Sql.one(
        c,
        """
        select max_attempts, backoff_ms, cancel_requested from tasks
         where id = ? and attempt = ? and worker = ? and status = 'running' for update""",
        rs ->
            new Held(
                t.id(),
                t.runId(),
                t.stepId(),
                t.attempt(),
                t.worker(),
                rs.getInt(1),
                Duration.ofMillis(rs.getLong(2)),
                rs.getBoolean(3)),
        t.id(),
        t.attempt(),
        t.worker());
  }

  /** Running tasks whose lease expired or whose worker is one of {@code deadWorkers}. */
  public static List<Expired> expired(Connection c, String[] deadWorkers) throws SQLException {
    return Sql.query(
        c,
        """
        select id, run_id from tasks
         where status = 'running' and (lease_until < now() or worker = any(?)) limit 200""",
        rs -> new Expired(rs.getLong(1), rs.getLong(2)),
        (Object) deadWorkers);
  }

  /** Locks an expired task if it is still running and expired (another reaper may have won). */
  public static Optional<Held> lockExpired(Connection c, Expired e, String[] deadWorkers)
      throws SQLException {
    return Sql.one(
        c,
        """
        select step_id, attempt, worker, max_attempts, backoff_ms, cancel_requested from tasks
         where id = ? and status = 'running' and (lease_until < now() or worker = any(?))
           for update""",
        rs ->
            new Held(
                e.taskId(),
                e.runId(),
                rs.getString(1),
                rs.getInt(2),
                rs.getString(3),
                rs.getInt(4),
                Duration.ofMillis(rs.getLong(5)),
                rs.getBoolean(6)),
        e.taskId(),
        deadWorkers);
  }

  /** Ends an attempt as failed. */
  public static void fail(Connection c, long taskId, int attempt, Integer exitCode, String error)
      throws SQLException {
    Sql.update(
        c,
        """
        update task_attempts set status = 'failed', finished_at = now(), exit_code = ?, error = ?
         where task_id = ? and attempt = ?""",
        exitCode,
        error,
        taskId,
        attempt);
  }

  /** Ends an attempt as lost (its worker died, stopped renewing its lease, or handed it back). */
  public static void lose(Connection c, long taskId, int attempt, String why) throws SQLException {
    Sql.update(
        c,
        """
        update task_attempts set status = 'lost', finished_at = now(), error = ?
         where task_id = ? and attempt = ?""",
        why,
        taskId,
        attempt);
  }

  /** How many attempts of the task were lost. */
  public static int lostCount(Connection c, long taskId) throws SQLException {
    return Sql.one(
            c,
            "select count(*) from task_attempts where task_id = ? and status = 'lost'",
            rs -> rs.getInt(1),
            taskId)
        .orElse(0);
  }

  /** Gives the attempt back: it does not count against the task's retries. */
  public static void refund(Connection c, long taskId) throws SQLException {
    Sql.update(c, "update tasks set max_attempts = max_attempts + 1 where id = ?", taskId);
  }

  /** Workers that hold running tasks now. */
  public static List<String> busyWorkers(Connection c) throws SQLException {
    return Sql.query(
        c,
        "select distinct worker from tasks where status = 'running' and worker is not null",
        rs -> rs.getString(1));
  }
}
