package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

/**
 * Exactly-once side effects of built-in steps. A built-in's attempt can be lost after its effect (a
 * model version, an alias move, a child run) was committed but before its result was recorded; the
 * re-run must return the first result instead of doing it again. {@link #once} does the effect and
 * records its result under (task, effect) in one transaction, or returns the recorded result.
 */
public final class SideEffects {
  private final Database db;

  public SideEffects(Database db) {
    this.db = db;
  }

  /** The effect, run inside the transaction that records it; returns the step's outputs. */
  @FunctionalInterface
  public interface Effect {
    Map<String, String> apply(Connection c) throws SQLException;
  }

  /** What {@link #once} returns: the outputs, and whether they were recorded by an earlier try. */
  public record Outcome(Map<String, String> outputs, boolean repeated) {}

  /**
   * Runs {@code effect} once for the task: the first call does it and records its outputs, every
   * later call (another attempt of the same task) returns those outputs without doing it again. Two
   * calls at once are serialised by the row's primary key; the loser's transaction rolls back.
   */
  public Outcome once(ClaimedTask task, String name, Effect effect) {
    return db.tx()
        .inTransaction(
            c -> {
              // Serialise attempts of one task (only one runs at a time anyway: the lease fence).
              Sql.one(
                  c,
                  "select id from tasks where id = ? for no key update",
                  rs -> rs.getLong(1),
                  task.id());
              Optional<Map<String, String>> done = find(c, task.id(), name);
              if (done.isPresent()) {
                return new Outcome(done.get(), true);
              }
              Map<String, String> out = effect.apply(c);
              Sql.update(
                  c,
                  "insert into side_effects (task_id, effect, result, attempt) values (?, ?,"
                      + " ?::jsonb, ?)",
                  task.id(),
                  name,
                  Json.write(out),
                  task.attempt());
              return new Outcome(out, false);
            });
  }

  /** The outputs recorded for the task's effect, if it happened. */
  public Optional<Map<String, String>> find(ClaimedTask task, String name) {
    return db.tx().inTransaction(c -> find(c, task.id(), name));
  }

  /**
   * Records an effect that cannot join a transaction (an HTTP call) after it happened; false when
   * one was recorded already.
   */
  public boolean record(ClaimedTask task, String name, Map<String, String> outputs) {
    return db.tx()
        .autocommit(
            c ->
                Sql.update(
                        c,
                        "insert into side_effects (task_id, effect, result, attempt) values (?, ?,"
                            + " ?::jsonb, ?) on conflict do nothing",
                        task.id(),
                        name,
                        Json.write(outputs),
                        task.attempt())
                    == 1);
  }

  /** Records an effect inside a transaction the caller runs (a child run's creation). */
  public static void record(Connection c, ClaimedTask task, String name, Map<String, String> out)
      throws SQLException {
    Sql.update(
        c,
        "insert into side_effects (task_id, effect, result, attempt) values (?, ?, ?::jsonb, ?)",
        task.id(),
        name,
        Json.write(out),
        task.attempt());
  }

  private static Optional<Map<String, String>> find(Connection c, long taskId, String name)
      throws SQLException {
    return Sql.one(
        c,
        "select result::text from side_effects where task_id = ? and effect = ?",
        rs -> Json.readStringMap(rs.getString(1)),
        taskId,
        name);
  }
}
