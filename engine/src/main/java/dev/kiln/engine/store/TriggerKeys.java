package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * What made triggers start runs at most once ({@code trigger_keys}: a delivery id, a file, a cron
 * firing) and what they skipped ({@code trigger_skips}), inside the starter's transaction.
 */
public final class TriggerKeys {
  private TriggerKeys() {}

  /**
   * Serialises the trigger decisions of one pipeline until the transaction ends, across every
   * process on the database.
   */
  public static void lockPipeline(Connection c, String pipeline) throws SQLException {
    Sql.query(
        c,
        "select pg_advisory_xact_lock(hashtextextended(?, 0))",
        rs -> null,
        "kiln-pipeline:" + pipeline);
  }

  /** The run a key started, if any. */
  public static Optional<Long> runOf(Connection c, String key) throws SQLException {
    return Sql.one(c, "select run_id from trigger_keys where key = ?", rs -> rs.getLong(1), key);
  }

  /**
   * Records that the key started the run; false when another transaction recorded the key first
   * (this blocks until a concurrent insert of the same key commits or rolls back).
   */
  public static boolean claim(Connection c, String key, long runId) throws SQLException {
    return Sql.update(
            c,
            "insert into trigger_keys (key, run_id) values (?, ?) on conflict (key) do nothing",
            key,
            runId)
        == 1;
  }

  /** Records a trigger that started nothing ({@code concurrency: forbid}). */
  public static void skip(
      Connection c, String pipeline, String trigger, Instant scheduledAt, String reason)
      throws SQLException {
    Sql.update(
        c,
        """
        insert into trigger_skips (pipeline, trigger, scheduled_at, reason)
        values (?, ?, ?, ?)""",
        pipeline,
        trigger,
        scheduledAt,
        reason);
  }
}
