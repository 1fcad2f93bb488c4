package dev.kiln.engine.trigger;

import dev.kiln.dsl.model.Concurrency;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Runs;
import dev.kiln.engine.store.TriggerKeys;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Starts the runs triggers ask for, each in one transaction with what makes it happen at most once
 * (a delivery id, a file, a cron firing: a unique key in {@code trigger_keys}) and with the
 * pipeline's {@code concurrency} policy applied.
 */
public final class RunStarter {
  /** What a trigger asked for. {@code key} may be null (no deduplication). */
  public record Request(
      Pipeline pipeline,
      Map<String, Object> params,
      String trigger,
      String baseDir,
      Instant scheduledAt,
      String key) {}

  /** What happened. */
  public sealed interface Outcome {
    /** {@code created} is false when the key had already started {@code runId}. */
    record Started(long runId, boolean created) implements Outcome {}

    /** Nothing started: {@code concurrency: forbid} and a run was active. */
    record Skipped(String reason) implements Outcome {}
  }

  /** Work done inside the run's transaction just before it commits (e.g. moving a file). */
  @FunctionalInterface
  public interface BeforeCommit {
    void run(long runId) throws Exception;
  }

  private final Database db;
  private final RunService runs;

  public RunStarter(Database db, RunService runs) {
    this.db = db;
    this.runs = runs;
  }

  public Outcome start(Request r) {
    return start(r, true, null);
  }

  /**
   * @param applyConcurrency false for backfills, which bound their own parallelism
   * @param beforeCommit runs only when a new run is created; its failure rolls everything back
   */
  public Outcome start(Request r, boolean applyConcurrency, BeforeCommit beforeCommit) {
    Outcome o;
    try {
      o = db.tx().inTransaction(c -> startIn(c, r, applyConcurrency, beforeCommit));
    } catch (KeyTaken e) {
      // A concurrent transaction with the same key committed first: ours rolled back, so the
      // answer is its run.
      Long existing = db.tx().inTransaction(c -> TriggerKeys.runOf(c, r.key())).orElseThrow();
      o = new Outcome.Started(existing, false);
    }
    String outcome =
        o instanceof Outcome.Started s ? (s.created() ? "started" : "duplicate") : "skipped";
    Metrics.get().triggerFired(r.pipeline().name(), r.trigger(), outcome);
    return o;
  }

  private Outcome startIn(
      Connection c, Request r, boolean applyConcurrency, BeforeCommit beforeCommit)
      throws SQLException {
    Pipeline p = r.pipeline();
    boolean policy = applyConcurrency && p.concurrency() != Concurrency.ALLOW;
    if (policy) {
      // One decision per pipeline at a time, across every server on the database. Taken before
      // the key check, so a redelivery waiting here sees the first delivery's run, not a
      // "still active" run to skip.
      TriggerKeys.lockPipeline(c, p.name());
    }
    if (r.key() != null) {
      Optional<Long> existing = TriggerKeys.runOf(c, r.key());
      if (existing.isPresent()) {
        return new Outcome.Started(existing.get(), false);
      }
    }
    if (policy) {
      List<Long> active = Runs.active(c, p.name());
      if (!active.isEmpty()) {
        if (p.concurrency() == Concurrency.FORBID) {
          String reason =
              "run " + active.get(0) + " of " + p.name() + " is still active (concurrency: forbid)";
          TriggerKeys.skip(c, p.name(), r.trigger(), r.scheduledAt(), reason);
          return new Outcome.Skipped(reason);
        }
        for (long id : active) {
          runs.cancel(c, id, "replaced by a new " + r.trigger() + " run (concurrency: replace)");
        }
      }
    }
    long runId = runs.createRun(c, p, r.params(), r.trigger(), r.baseDir(), r.scheduledAt());
    if (r.key() != null) {
      // Blocks until a concurrent insert of the same key commits or rolls back.
      if (!TriggerKeys.claim(c, r.key(), runId)) {
        throw new KeyTaken();
      }
    }
    if (beforeCommit != null) {
      try {
        beforeCommit.run(runId);
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }
    return new Outcome.Started(runId, true);
  }

  private static final class KeyTaken extends RuntimeException {
    KeyTaken() {
      super(null, null, false, false);
    }
  }
}
