package dev.kiln.engine.store;

import dev.kiln.engine.task.TaskSpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The queue of ready steps in the {@code tasks} table. A claim is one statement (select with {@code
 * FOR UPDATE SKIP LOCKED} and update in the same CTE, on the database clock); every later write is
 * compare-and-set on {@code (id, attempt, worker)} so a worker that lost its lease cannot touch the
 * task again.
 */
public final class TaskQueue {
  /** The channel workers LISTEN on; notified when tasks become claimable. */
  public static final String CHANNEL = "kiln_tasks";

  private final Database db;

  public TaskQueue(Database db) {
    this.db = db;
  }

  // One statement: pick ready rows (skipping rows other claimers hold), take them, record the
  // attempts and the events; whoever follows those runs is woken after the commit (Wakeups).
  private static final String CLAIM =
      """
      with ready as (
        select id from tasks
         where status = 'queued' and queue = any(?) and not_before <= now()/*run*//*executor*/
         order by not_before, id
         for update skip locked
         limit ?),
      claimed as (
        update tasks t
           set status = 'running', attempt = t.attempt + 1, worker = ?,
               lease_until = now() + ? * interval '1 millisecond',
               started_at = coalesce(t.started_at, now())
          from ready
         where t.id = ready.id
        returning t.id, t.run_id, t.step_id, t.attempt, t.spec),
      attempts as (
        insert into task_attempts (task_id, attempt, worker, status)
        select id, attempt, ?, 'running' from claimed),
      events as (
        insert into run_events (run_id, step_id, status, detail)
        select run_id, step_id, 'running', 'attempt ' || attempt || ' on ' || ? from claimed)
      select id, run_id, step_id, attempt, spec::text from claimed
      """;

  /**
   * The runs a {@code kiln run} works on: its own, and those a {@code pipeline/run} step of one of
   * them started (recorded as that step's side effect), so a child run it waits for is not left
   * queued with nobody to run it.
   */
  private static final String FAMILY =
      """
      (with recursive family(id) as (
         select ?::bigint
         union
         select (s.result->>'run_id')::bigint
           from family f
           join tasks t on t.run_id = f.id
           join side_effects s on s.task_id = t.id and s.effect = 'pipeline/run')
       select id from family)""";

  // The claim restricted to one run's family (FAMILY) is what a `kiln run` takes; the claim of a
  // single queue (a worker's usual case) says `queue = ?`, so the planner walks
  // tasks_claimable_in_queue and
  // never the tasks waiting in other queues (V115); a worker that runs only some executors adds
  // their filter (V130). Each variant is a text of its own rather than `? is null or ...`, so each
  // keeps a plan of its own: TEXTS[run][one queue][executors].
  private static final String[][][] TEXTS = new String[2][2][2];

  static {
    for (int run = 0; run < 2; run++) {
      for (int one = 0; one < 2; one++) {
        for (int ex = 0; ex < 2; ex++) {
          TEXTS[run][one][ex] =
              CLAIM
                  .replace("/*run*/", run == 1 ? " and run_id in " + FAMILY : "")
                  .replace("queue = any(?)", one == 1 ? "queue = ?" : "queue = any(?)")
                  .replace(
                      "/*executor*/",
                      ex == 1 ? " and (executor is null or executor = any(?))" : "");
        }
      }
    }
  }

  /** Claims up to {@code limit} ready tasks of the given queues for {@code worker}. */
  public List<ClaimedTask> claim(String worker, List<String> queues, int limit, Duration lease) {
    return claim(worker, queues, null, limit, lease);
  }

  /**
   * Claims up to {@code limit} ready tasks of the given queues for {@code worker}; only tasks of
   * run {@code onlyRun} (and of the runs its {@code pipeline/run} steps started) unless it is null.
   */
  public List<ClaimedTask> claim(
      String worker, List<String> queues, Long onlyRun, int limit, Duration lease) {
    return claim(worker, new Claimable(queues, onlyRun, null), limit, lease);
  }

  /** Claims up to {@code limit} tasks {@code what} describes for {@code worker}. */
  public List<ClaimedTask> claim(String worker, Claimable what, int limit, Duration lease) {
    if (limit <= 0) {
      return List.of();
    }
    return db.tx().autocommit(c -> claim(c, worker, what, limit, lease));
  }

  /**
   * Which queued tasks a worker may take: those of {@code queues}; of run {@code onlyRun} unless it
   * is null; and, unless {@code executors} is null, those that require no executor or one of {@code
   * executors} (the executors the worker can run).
   */
  public record Claimable(List<String> queues, Long onlyRun, List<String> executors) {
    public Claimable {
      queues = List.copyOf(queues);
      executors = executors == null ? null : List.copyOf(executors);
    }
  }

  /**
   * {@link #claim(String, Claimable, int, Duration)} inside the caller's transaction: a worker
   * claims what its result made ready in the transaction that records the result, saving a round
   * trip and a commit on the path from one step to the next.
   */
  public static List<ClaimedTask> claim(
      Connection c, String worker, Claimable what, int limit, Duration lease) throws SQLException {
    if (limit <= 0) {
      return List.of();
    }
    Statement st = statement(worker, what, limit, lease);
    List<ClaimedTask> claimed =
        Sql.query(
            c,
            st.sql(),
            rs ->
                new ClaimedTask(
                    rs.getLong(1),
                    rs.getLong(2),
                    rs.getString(3),
                    rs.getInt(4),
                    worker,
                    SecretBox.process().openSpec(Json.read(rs.getString(5), TaskSpec.class))),
            st.args());
    for (long run : claimed.stream().map(ClaimedTask::runId).distinct().toList()) {
      Wakeups.send(c, "kiln_events", String.valueOf(run));
    }
    return claimed;
  }

  private record Statement(String sql, Object[] args) {}

  /** The claim's text and arguments. */
  private static Statement statement(String worker, Claimable what, int limit, Duration lease) {
    boolean run = what.onlyRun() != null;
    boolean one = !run && what.queues().size() == 1;
    boolean ex = what.executors() != null;
    List<Object> args = new ArrayList<>();
    args.add(one ? what.queues().get(0) : what.queues().toArray(String[]::new));
    if (run) {
      args.add(what.onlyRun());
    }
    if (ex) {
      args.add(what.executors().toArray(String[]::new));
    }
    args.addAll(List.of(limit, worker, lease.toMillis(), worker, worker));
    return new Statement(TEXTS[run ? 1 : 0][one ? 1 : 0][ex ? 1 : 0], args.toArray());
  }

  /**
   * Queues {@code count} copies of one of {@code runId}'s tasks in {@code queue} and refreshes the
   * planner statistics: the backlog the claim benchmark measures the claim against.
   */
  public void queueCopies(long runId, String queue, int count) {
    db.tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
        insert into tasks (run_id, step_id, status, queue, spec, max_attempts, backoff_ms)
        select ?, 'q' || g, 'queued', ?, t.spec, 1, 0
          from generate_series(1, ?) g, (select spec from tasks where run_id = ? limit 1) t""",
                    runId,
                    queue,
                    count,
                    runId));
    db.tx().run(c -> Sql.update(c, "analyze tasks"));
  }

  /**
   * The plan and timing of one claim of {@code limit} tasks of {@code queues} (of run {@code
   * onlyRun} if not null) as a worker makes it (EXPLAIN ANALYZE), run in a transaction that is
   * rolled back, so nothing is claimed.
   */
  public String explainClaim(List<String> queues, Long onlyRun, int limit) {
    return explainClaim(new Claimable(queues, onlyRun, null), limit);
  }

  /** {@link #explainClaim(List, Long, int)} of any claim. */
  public String explainClaim(Claimable what, int limit) {
    Statement st = statement("explain", what, limit, Duration.ofSeconds(30));
    try (Connection c = db.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try {
        return String.join(
            "\n",
            Sql.query(
                c, "explain (analyze, buffers) " + st.sql(), rs -> rs.getString(1), st.args()));
      } finally {
        c.rollback();
      }
    } catch (SQLException e) {
      throw new StoreException(e);
    }
  }

  /**
   * Extends the lease. Empty when the task is no longer this worker's (lease expired and taken, or
   * finished); otherwise whether cancellation was requested.
   */
  public Optional<Boolean> heartbeat(ClaimedTask t, Duration lease) {
    return db.tx().autocommit(c -> heartbeat(c, t, lease));
  }

  static Optional<Boolean> heartbeat(Connection c, ClaimedTask t, Duration lease)
      throws SQLException {
    return Sql.one(
        c,
        """
        update tasks set lease_until = now() + ? * interval '1 millisecond'
         where id = ? and attempt = ? and worker = ? and status = 'running'
        returning cancel_requested
        """,
        rs -> rs.getBoolean(1),
        lease.toMillis(),
        t.id(),
        t.attempt(),
        t.worker());
  }

  /** Milliseconds until the earliest queued task of these queues becomes claimable, if any. */
  public Optional<Long> millisUntilNextReady(List<String> queues) {
    return millisUntilNextReady(queues, null);
  }

  /** {@link #millisUntilNextReady(List)} among the tasks of run {@code onlyRun} if not null. */
  public Optional<Long> millisUntilNextReady(List<String> queues, Long onlyRun) {
    return millisUntilNextReady(new Claimable(queues, onlyRun, null));
  }

  /** Milliseconds until the earliest task {@code what} describes becomes claimable, if any. */
  public Optional<Long> millisUntilNextReady(Claimable what) {
    String[] executors = what.executors() == null ? null : what.executors().toArray(String[]::new);
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        """
        select greatest(0, ceil(extract(epoch from (min(not_before) - now())) * 1000))::bigint as wait_ms
          from tasks where status = 'queued' and queue = any(?)
           and (?::bigint is null or run_id in %s)
           and (?::text[] is null or executor is null or executor = any(?))
        """
                            .formatted(FAMILY),
                        rs -> Sql.longOrNull(rs, "wait_ms"),
                        what.queues().toArray(String[]::new),
                        what.onlyRun(),
                        what.onlyRun(),
                        executors,
                        executors)
                    .filter(v -> v != null));
  }

  /** Appends log lines of one attempt; lines of a fenced-out attempt are still kept. */
  public void appendLogs(long taskId, int attempt, List<String[]> streamAndLine) {
    if (streamAndLine.isEmpty()) {
      return;
    }
    db.tx()
        .run(
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "insert into task_logs (task_id, attempt, stream, line) values (?, ?, ?, ?)")) {
                for (String[] sl : streamAndLine) {
                  Sql.bind(ps, taskId, attempt, sl[0], sl[1]);
                  ps.addBatch();
                }
                ps.executeBatch();
              }
            });
  }
}
