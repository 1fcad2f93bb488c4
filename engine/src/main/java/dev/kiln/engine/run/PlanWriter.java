package dev.kiln.engine.run;

import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** The SQL that applies life-cycle decisions inside a transaction that holds the run's lock. */
final class PlanWriter {

  void apply(Connection c, long runId, Plan plan) throws SQLException {
    apply(c, runId, plan, false);
  }

  /**
   * @param notified whether this transaction already notified the run's watchers
   */
  void apply(Connection c, long runId, Plan plan, boolean notified) throws SQLException {
    if (!plan.start().isEmpty()) {
      int n = plan.start().size();
      String[] ids = new String[n];
      String[] queues = new String[n];
      String[] specs = new String[n];
      Integer[] attempts = new Integer[n];
      Long[] backoffs = new Long[n];
      for (int i = 0; i < n; i++) {
        Plan.Start s = plan.start().get(i);
        ids[i] = s.stepId();
        queues[i] = s.queue();
        specs[i] = Json.write(s.spec());
        attempts[i] = s.maxAttempts();
        backoffs[i] = s.backoffMs();
      }
      // Tasks, their events and the wake-up in one round trip: this is on every step's path.
      try (PreparedStatement ps =
          c.prepareStatement(
              """
          with s as (
            select * from unnest(?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[])
                     as s(step_id, queue, spec, max_attempts, backoff_ms)),
          t as (
            insert into tasks (run_id, step_id, status, queue, spec, max_attempts, backoff_ms)
            select ?, step_id, 'queued', queue, spec::jsonb, max_attempts, backoff_ms from s
            returning step_id)
          insert into run_events (run_id, step_id, status) select ?, step_id, 'queued' from t;
          select pg_notify('kiln_tasks', '0')""")) {
        ps.setArray(1, c.createArrayOf("text", ids));
        ps.setArray(2, c.createArrayOf("text", queues));
        ps.setArray(3, c.createArrayOf("text", specs));
        ps.setArray(4, c.createArrayOf("int4", attempts));
        ps.setArray(5, c.createArrayOf("int8", backoffs));
        ps.setLong(6, runId);
        ps.setLong(7, runId);
        ps.execute();
      }
    }
    for (Plan.Finish f : plan.finish()) {
      Sql.update(
          c,
          """
          insert into tasks (run_id, step_id, status, queue, spec, max_attempts, backoff_ms,
                             error, finished_at)
          values (?, ?, ?, 'default', '{}'::jsonb, 0, 0, ?, now())""",
          runId,
          f.stepId(),
          f.status().db(),
          f.reason());
      event(c, runId, f.stepId(), f.status().db(), f.reason());
    }
    if (plan.runStatus() != null) {
      RunStatus s = plan.runStatus();
      Sql.update(
          c,
          """
          update runs set status = ?,
                 started_at = coalesce(started_at, now()),
                 finished_at = case when ? then coalesce(finished_at, now()) else null end
           where id = ?""",
          s.db(),
          s.terminal(),
          runId);
      event(c, runId, null, s.db(), null);
      Sql.query(c, "select pg_notify('kiln_runs', ?)", rs -> null, runId + " " + s.db());
    }
    notifyEvents(c, runId);
  }

  void requeue(
      Connection c,
      long runId,
      long taskId,
      String stepId,
      int attempt,
      Duration backoff,
      String error,
      Integer exitCode)
      throws SQLException {
    long delay = backoff.toMillis() * (1L << Math.min(attempt - 1, 20));
    delay = Math.min(delay, dev.kiln.dsl.model.RetryPolicy.MAX_DELAY.toMillis());
    Sql.update(
        c,
        """
        update tasks set status = 'queued', worker = null, lease_until = null,
               not_before = now() + ? * interval '1 millisecond', error = ?, exit_code = ?
         where id = ?""",
        delay,
        error,
        exitCode,
        taskId);
    event(
        c,
        runId,
        stepId,
        "retrying",
        "attempt "
            + attempt
            + " failed"
            + (error == null ? "" : ": " + error)
            + "; next attempt in "
            + humanMillis(delay));
    // The payload tells workers when the task becomes claimable, so they need not ask.
    Sql.query(
        c,
        "select pg_notify('kiln_tasks', ?), pg_notify('kiln_events', ?)",
        rs -> null,
        String.valueOf(delay),
        String.valueOf(runId));
  }

  /**
   * Settles a running task with its result, compare-and-set on (id, attempt, worker, running).
   * Returns false, writing nothing, when the attempt is no longer the task's current one.
   */
  boolean finishTask(Connection c, ClaimedTask t, Completion r) throws SQLException {
    StepStatus status =
        switch (r.outcome()) {
          case SUCCEEDED -> StepStatus.SUCCEEDED;
          case CANCELLED -> StepStatus.CANCELLED;
          default -> StepStatus.FAILED;
        };
    String detail = r.error();
    if (detail == null && r.exitCode() != null && r.exitCode() != 0) {
      detail = "exit code " + r.exitCode();
    }
    if (r.cachedFrom() != null) {
      detail = r.cachedFrom().describe();
    }
    // Only a success records its cache key; a hit keeps it too, with reused_from set, so it is
    // told from a retry's copy and is never an entry itself.
    String cacheKey = status == StepStatus.SUCCEEDED ? r.cacheKey() : null;
    Long reusedFrom = r.cachedFrom() == null ? null : r.cachedFrom().taskId();
    // Task, attempt, event and wake-up in one round trip: this is on every step's critical path.
    boolean settled =
        Sql.query(
                    c,
                    """
        with t as (
          update tasks set status = ?, outputs = ?, exit_code = ?, error = ?, finished_at = now(),
                 lease_until = null, image_digest = ?, cache_key = ?, reused_from = ?
           where id = ? and attempt = ? and worker = ? and status = 'running'
          returning run_id, step_id),
        a as (
          update task_attempts set status = ?, finished_at = now(), exit_code = ?, error = ?
           where task_id = ? and attempt = ? and exists (select 1 from t)),
        e as (
          insert into run_events (run_id, step_id, status, detail)
          select run_id, step_id, ?, ? from t returning run_id)
        select pg_notify('kiln_events', run_id::text) from e""",
                    rs -> true,
                    status.db(),
                    Jsonb.of(r.outputs()),
                    r.exitCode(),
                    r.error(),
                    r.imageDigest(),
                    cacheKey,
                    reusedFrom,
                    t.id(),
                    t.attempt(),
                    t.worker(),
                    status.db(),
                    r.exitCode(),
                    r.error(),
                    t.id(),
                    t.attempt(),
                    status.db(),
                    detail)
                .size()
            == 1;
    if (!settled) {
      return false;
    }
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
    return true;
  }

  /** Settles a running task without a result from its worker (lease lost for good). */
  void settleRunning(
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
    event(c, runId, stepId, status.db(), why);
  }

  /** Copies the succeeded steps of run {@code from} into run {@code to}, as reused results. */
  void copySucceeded(Connection c, long from, long to) throws SQLException {
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
      event(c, to, step, "succeeded", "reused from run " + from);
    }
  }

  static void event(Connection c, long runId, String stepId, String status, String detail)
      throws SQLException {
    Sql.update(
        c,
        "insert into run_events (run_id, step_id, status, detail) values (?, ?, ?, ?)",
        runId,
        stepId,
        status,
        detail);
  }

  static void notifyEvents(Connection c, long runId) throws SQLException {
    Sql.query(c, "select pg_notify('kiln_events', ?)", rs -> null, String.valueOf(runId));
  }

  static String humanMillis(long ms) {
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return (ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.format("%.1f", ms / 1000.0))
          + "s";
    }
    return (ms / 60_000) + "m" + ((ms % 60_000) / 1000) + "s";
  }
}
