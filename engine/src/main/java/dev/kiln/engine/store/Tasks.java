package dev.kiln.engine.store;

import dev.kiln.engine.store.Sql.Jsonb;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.task.TaskSpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code tasks} and {@code task_attempts} rows of the life cycle, inside the caller's
 * transaction (which holds the run's lock). Settling a running task is compare-and-set on {@code
 * (id, attempt, worker, running)}: zero rows means the attempt is no longer the task's.
 */
public final class Tasks {
  private Tasks() {}

  /** A task to queue. */
  public record NewTask(
      String stepId, String queue, TaskSpec spec, int maxAttempts, long backoffMs) {}

  /** A decided task as planning reads it; {@code artifacts} maps names to sha256. */
  public record TaskState(
      String stepId,
      StepStatus status,
      Map<String, String> outputs,
      Map<String, String> artifacts) {}

  /**
   * What planning reads: the run's tasks, or {@code idle} when every step has all its tasks and
   * some are still active (nothing can be planned, so nothing is read).
   */
  public record PlanningState(boolean idle, List<TaskState> tasks) {}

  /**
   * Queues tasks with their events in one round trip and returns their ids. With {@code announce}
   * the workers are woken (kiln_tasks) when the transaction commits; without, the caller claims
   * them itself in this transaction and calls {@link #announce} for any it did not take.
   */
  public static List<Long> enqueue(Connection c, long runId, List<NewTask> tasks, boolean announce)
      throws SQLException {
    if (tasks.isEmpty()) {
      return List.of();
    }
    int n = tasks.size();
    String[] ids = new String[n];
    String[] queues = new String[n];
    String[] specs = new String[n];
    Integer[] attempts = new Integer[n];
    Long[] backoffs = new Long[n];
    for (int i = 0; i < n; i++) {
      NewTask t = tasks.get(i);
      ids[i] = t.stepId();
      queues[i] = t.queue();
      specs[i] = Json.write(SecretBox.process().sealSpec(t.spec(), secretParamValues(t.spec())));
      attempts[i] = t.maxAttempts();
      backoffs[i] = t.backoffMs();
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            """
        with s as (
          select * from unnest(?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[])
                   as s(step_id, queue, spec, max_attempts, backoff_ms)),
        t as (
          insert into tasks (run_id, step_id, status, queue, spec, max_attempts, backoff_ms,
                             executor)
          select ?, step_id, 'queued', queue, spec::jsonb, max_attempts, backoff_ms,
                 spec::jsonb ->> 'executor' from s
          returning id, step_id),
        e as (
          insert into run_events (run_id, step_id, status) select ?, step_id, 'queued' from t)
        select id from t""")) {
      ps.setArray(1, c.createArrayOf("text", ids));
      ps.setArray(2, c.createArrayOf("text", queues));
      ps.setArray(3, c.createArrayOf("text", specs));
      ps.setArray(4, c.createArrayOf("int4", attempts));
      ps.setArray(5, c.createArrayOf("int8", backoffs));
      ps.setLong(6, runId);
      ps.setLong(7, runId);
      List<Long> out = new ArrayList<>(n);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getLong(1));
        }
      }
      if (announce) {
        announce(c);
      }
      return out;
    }
  }

  /** Wakes the workers (after the commit) for tasks queued without {@code announce}. */
  public static void announce(Connection c) throws SQLException {
    Wakeups.send(c, TaskQueue.CHANNEL, "0");
  }

  /** Inserts a task settled without running (skipped, cancelled, failed), with its event. */
  public static void insertSettled(
      Connection c, long runId, String stepId, StepStatus status, String reason)
      throws SQLException {
    Sql.update(
        c,
        """
        insert into tasks (run_id, step_id, status, queue, spec, max_attempts, backoff_ms,
                           error, finished_at)
        values (?, ?, ?, 'default', '{}'::jsonb, 0, 0, ?, now())""",
        runId,
        stepId,
        status.db(),
        reason);
    Runs.event(c, runId, stepId, status.db(), reason);
  }

  /**
   * Queues a running task again, claimable after {@code delay}, with its event; the wake-up's
   * payload tells workers when it becomes claimable, so they need not ask.
   */
  public static void requeue(
      Connection c,
      long runId,
      long taskId,
      String stepId,
      Duration delay,
      String error,
      Integer exitCode,
      String detail)
      throws SQLException {
    Sql.update(
        c,
        """
        update tasks set status = 'queued', worker = null, lease_until = null,
               not_before = now() + ? * interval '1 millisecond', error = ?, exit_code = ?
         where id = ?""",
        delay.toMillis(),
        error,
        exitCode,
        taskId);
    Runs.event(c, runId, stepId, "retrying", detail);
    Wakeups.send(c, TaskQueue.CHANNEL, String.valueOf(delay.toMillis()));
    Runs.notifyEvents(c, runId);
  }

  /**
   * The settling of a task: task, attempt and event, in one statement (on every step's critical
   * path). {@code %s} takes a further condition on the task's update.
   */
  private static final String SETTLE =
      """
      t as (
        update tasks set status = ?, outputs = ?, exit_code = ?, error = ?, finished_at = now(),
               lease_until = null, image_digest = ?, cache_key = ?, reused_from = ?
         where id = ? and attempt = ? and worker = ? and status = 'running'%s
        returning run_id, step_id),
      a as (
        update task_attempts set status = ?, finished_at = now(), exit_code = ?, error = ?
         where task_id = ? and attempt = ? and exists (select 1 from t)),
      e as (
        insert into run_events (run_id, step_id, status, detail)
        select run_id, step_id, ?, ? from t returning run_id)""";

  /**
   * How a result settles its task: the task's final status, the event's detail, the cache key a
   * success records, the task whose result it reused (a cache hit).
   */
  public record Settling(StepStatus status, String detail, String cacheKey, Long reusedFrom) {}

  private static Object[] settleArgs(ClaimedTask t, Completion r, Settling s) {
    StepStatus status = s.status();
    return new Object[] {
      status.db(),
      Jsonb.of(r.outputs()),
      r.exitCode(),
      r.error(),
      r.imageDigest(),
      s.cacheKey(),
      s.reusedFrom(),
      t.id(),
      t.attempt(),
      t.worker(),
      status.db(),
      r.exitCode(),
      r.error(),
      t.id(),
      t.attempt(),
      status.db(),
      s.detail()
    };
  }

  /**
   * Settles a running task with its worker's result, compare-and-set on (id, attempt, worker,
   * running), with its metrics and artifacts. Returns false, writing nothing, when the attempt is
   * no longer the task's current one.
   */
  public static boolean settle(Connection c, ClaimedTask t, Completion r, Settling s)
      throws SQLException {
    boolean settled =
        Sql.query(
                    c,
                    "with " + SETTLE.formatted("") + " select run_id from e",
                    rs -> true,
                    settleArgs(t, r, s))
                .size()
            == 1;
    if (settled) {
      settled(c, t, r);
    }
    return settled;
  }

  /**
   * {@link Runs#lock} and {@link #settle} in one statement, one round trip fewer: the run's row is
   * locked before the task is settled (the update waits on it). Returns the run as locked, or
   * empty, writing nothing, when the attempt is no longer the task's current one (or the run is
   * gone).
   */
  public static Optional<Runs.RunRow> lockRunAndSettle(
      Connection c, ClaimedTask t, Completion r, Settling s) throws SQLException {
    Object[] settle = settleArgs(t, r, s);
    Object[] args = new Object[settle.length + 1];
    args[0] = t.runId();
    System.arraycopy(settle, 0, args, 1, settle.length);
    Optional<Runs.RunRow> run =
        Sql.one(
            c,
            "with r as ("
                + Runs.LOCK_RUN_ROW
                + "), "
                + SETTLE.formatted(" and exists (select 1 from r)")
                + " select r.* from r where exists (select 1 from e)",
            Runs::runRow,
            args);
    if (run.isPresent()) {
      settled(c, t, r);
    }
    return run;
  }

  /** What follows a settled result in its transaction: the event's wake-up, metrics, artifacts. */
  private static void settled(Connection c, ClaimedTask t, Completion r) throws SQLException {
    Runs.notifyEvents(c, t.runId());
    // A task is settled once (running -> final, under the fence), so it has no metrics or
    // artifacts yet: nothing to delete first.
    if (!r.metrics().isEmpty()) {
      Map<String, Integer> idx = new HashMap<>();
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into metrics (run_id, step_id, key, idx, value) values (?, ?, ?, ?, ?)")) {
        for (Completion.Metric m : r.metrics()) {
          int i = idx.merge(m.key(), 1, Integer::sum) - 1;
          Sql.bind(ps, t.runId(), t.stepId(), m.key(), i, m.value());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    for (Completion.Artifact a : r.artifacts()) {
      Sql.update(
          c,
          """
          insert into artifacts (run_id, step_id, name, sha256, size, kind)
          values (?, ?, ?, ?, ?, ?)""",
          t.runId(),
          t.stepId(),
          a.name(),
          a.sha256(),
          a.size(),
          a.kind());
    }
  }

  /** Settles a running task without a result from its worker (lease lost for good, cancelled). */
  public static void settleRunning(
      Connection c, long runId, long taskId, String stepId, StepStatus status, String why)
      throws SQLException {
    Sql.update(
        c,
        """
        update tasks set status = ?, error = ?, finished_at = now(), lease_until = null
         where id = ?""",
        status.db(),
        why,
        taskId);
    Runs.event(c, runId, stepId, status.db(), why);
  }

  /** Copies the succeeded tasks of run {@code from} into run {@code to}, as reused results. */
  public static void copySucceeded(Connection c, long from, long to) throws SQLException {
    Sql.update(
        c,
        """
        insert into tasks (run_id, step_id, status, queue, spec, attempt, max_attempts, backoff_ms,
                           outputs, exit_code, reused_from, started_at, finished_at)
        select ?, step_id, 'succeeded', queue, spec, attempt, max_attempts, backoff_ms, outputs,
               exit_code, id, started_at, finished_at
          from tasks where run_id = ? and status = 'succeeded'""",
        to,
        from);
    Sql.update(
        c,
        """
        insert into artifacts (run_id, step_id, name, sha256, size, kind)
        select ?, a.step_id, a.name, a.sha256, a.size, a.kind from artifacts a
          join tasks t on t.run_id = a.run_id and t.step_id = a.step_id and t.status = 'succeeded'
         where a.run_id = ?""",
        to,
        from);
    Sql.update(
        c,
        """
        insert into metrics (run_id, step_id, key, idx, value)
        select ?, m.step_id, m.key, m.idx, m.value from metrics m
          join tasks t on t.run_id = m.run_id and t.step_id = m.step_id and t.status = 'succeeded'
         where m.run_id = ?""",
        to,
        from);
    for (String step :
        Sql.query(
            c,
            "select step_id from tasks where run_id = ? and status = 'succeeded' order by id",
            rs -> rs.getString(1),
            to)) {
      Runs.event(c, to, step, "succeeded", "reused from run " + from);
    }
  }

  /**
   * A cancelled run's tasks: queued ones cancelled at once (with their events), running ones asked
   * to stop through their worker's heartbeat.
   */
  public static void cancelRun(Connection c, long runId) throws SQLException {
    for (String step :
        Sql.query(
            c,
            """
        update tasks set status = 'cancelled', finished_at = now(), error = 'run cancelled'
         where run_id = ? and status = 'queued' returning step_id""",
            rs -> rs.getString(1),
            runId)) {
      Runs.event(c, runId, step, "cancelled", "run cancelled");
    }
    Sql.update(
        c,
        "update tasks set cancel_requested = true where run_id = ? and status = 'running'",
        runId);
  }

  /**
   * The run's tasks for planning, in one round trip. Outputs and artifacts matter only while some
   * step is undecided. Once the run has all its {@code total} tasks, only the run's status can
   * change, and only when none is active: until then the query returns a single empty row and
   * nothing is read, so a wide fan-out does not re-read its tasks on each completion.
   */
  public static PlanningState forPlanning(Connection c, long runId, int total) throws SQLException {
    List<TaskState> tasks = new ArrayList<>();
    boolean[] idle = {false};
    Sql.query(
        c,
        """
        with s as (
          select count(*) as decided,
                 count(*) filter (where status in ('queued', 'running')) as active
            from tasks where run_id = ?)
        select t.step_id, t.status,
               case when s.decided < ? then t.outputs::text end,
               case when s.decided < ? then (select json_object_agg(a.name, a.sha256)
                                               from artifacts a
                                              where a.run_id = t.run_id
                                                and a.step_id = t.step_id)::text
               end
          from s left join tasks t on t.run_id = ? and (s.decided < ? or s.active = 0)""",
        rs -> {
          if (rs.getString(1) == null) {
            idle[0] = true;
            return null;
          }
          tasks.add(
              new TaskState(
                  rs.getString(1),
                  StepStatus.of(rs.getString(2)),
                  Json.readStringMap(rs.getString(3)),
                  Json.readStringMap(rs.getString(4))));
          return null;
        },
        runId,
        total,
        total,
        runId,
        total);
    return new PlanningState(idle[0], tasks);
  }

  /**
   * The values of the run's {@code secret: true} params a spec carries: the planner lists them as
   * {@code mask} in the env's {@code KILN_SECRET_REFS} (engine.run's SecretRefs) for the worker.
   */
  private static List<String> secretParamValues(TaskSpec spec) {
    String refs = spec.env() == null ? null : spec.env().get("KILN_SECRET_REFS");
    if (refs == null || !(Json.readMap(refs).get("mask") instanceof List<?> mask)) {
      return List.of();
    }
    return mask.stream().map(String::valueOf).toList();
  }
}
