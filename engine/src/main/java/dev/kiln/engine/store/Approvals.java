package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The requests and decisions of {@code approval/wait} steps. A request is written when the step
 * starts waiting (once per task: a later attempt finds it, its deadline and any decision); a
 * decision is written once, compare-and-set on "undecided, not expired, step still active", on the
 * database clock.
 */
public final class Approvals {
  private final Database db;

  public Approvals(Database db) {
    this.db = db;
  }

  /**
   * A request and what became of it. {@code decision} is null while undecided; {@code expired} says
   * whether the deadline has passed (by the database clock).
   */
  public record State(
      Instant requestedAt,
      Instant deadline,
      String decision,
      String decidedBy,
      String reason,
      boolean expired) {
    public boolean approved() {
      return "approved".equals(decision);
    }
  }

  /** What {@link #decide} did. */
  public enum Decided {
    DONE,
    /** No approval step of that name is waiting in that run. */
    NOT_WAITING,
    /** It was decided already (the state says how and by whom). */
    ALREADY,
    /** Its deadline passed; the step fails. */
    EXPIRED
  }

  private static final String SELECT =
      """
      select requested_at, deadline, decision, decided_by, reason,
             deadline is not null and deadline <= now()
        from approvals where run_id = ? and step_id = ?""";

  /** Records the request unless one exists; returns the request as stored. */
  public State request(long runId, String stepId, Duration timeout) {
    return db.tx()
        .inTransaction(
            c -> {
              Sql.update(
                  c,
                  "insert into approvals (run_id, step_id, deadline) values (?, ?, now() +"
                      + " make_interval(secs => ?::double precision)) on conflict do nothing",
                  runId,
                  stepId,
                  timeout == null ? null : (double) timeout.toMillis() / 1000.0);
              return find(c, runId, stepId).orElseThrow();
            });
  }

  public Optional<State> find(long runId, String stepId) {
    return db.tx().autocommit(c -> find(c, runId, stepId));
  }

  /**
   * Approves or rejects the waiting step {@code stepId} of run {@code runId}: only an undecided,
   * unexpired request whose task is still queued or running takes a decision.
   */
  public Decided decide(long runId, String stepId, boolean approve, String by, String reason) {
    return db.tx()
        .inTransaction(
            c -> {
              int n =
                  Sql.update(
                      c,
                      """
                      update approvals a
                         set decision = ?, decided_by = ?, reason = ?, decided_at = now()
                       where a.run_id = ? and a.step_id = ? and a.decision is null
                         and (a.deadline is null or a.deadline > now())
                         and exists (select 1 from tasks t
                                      where t.run_id = a.run_id and t.step_id = a.step_id
                                        and t.status in ('queued', 'running'))""",
                      approve ? "approved" : "rejected",
                      by,
                      reason,
                      runId,
                      stepId);
              if (n == 1) {
                return Decided.DONE;
              }
              Optional<State> s = find(c, runId, stepId);
              if (s.isEmpty()) {
                return Decided.NOT_WAITING;
              }
              if (s.get().decision() != null) {
                return Decided.ALREADY;
              }
              return s.get().expired() ? Decided.EXPIRED : Decided.NOT_WAITING;
            });
  }

  private static Optional<State> find(Connection c, long runId, String stepId) throws SQLException {
    return Sql.one(c, SELECT, Approvals::state, runId, stepId);
  }

  private static State state(ResultSet rs) throws SQLException {
    Timestamp deadline = rs.getTimestamp(2);
    return new State(
        rs.getTimestamp(1).toInstant(),
        deadline == null ? null : deadline.toInstant(),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getBoolean(6));
  }
}
