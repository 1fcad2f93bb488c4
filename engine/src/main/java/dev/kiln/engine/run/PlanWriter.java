package dev.kiln.engine.run;

import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Runs;
import dev.kiln.engine.store.Tasks;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.StepStatus;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/** Applies life-cycle decisions through the store, inside a transaction that holds the run lock. */
final class PlanWriter {
  private PlanWriter() {}

  /**
   * Queues the plan's tasks, settles the steps it decided and sets the run's status. {@code
   * notified}: this transaction already notified kiln_events for the run (a settled task does), so
   * the notification is not sent again (PostgreSQL would fold it anyway, but not the round trip).
   * Without {@code announce} the workers are not woken for the queued tasks: the caller claims them
   * in this transaction. Returns the queued tasks' ids.
   */
  static List<Long> apply(Connection c, long runId, Plan plan, boolean notified, boolean announce)
      throws SQLException {
    if (plan.start().isEmpty() && plan.finish().isEmpty() && plan.runStatus() == null && notified) {
      return List.of();
    }
    List<Long> queued =
        Tasks.enqueue(
            c,
            runId,
            plan.start().stream()
                .map(
                    s ->
                        new Tasks.NewTask(
                            s.stepId(), s.queue(), s.spec(), s.maxAttempts(), s.backoffMs()))
                .toList(),
            announce);
    for (Plan.Finish f : plan.finish()) {
      Tasks.insertSettled(c, runId, f.stepId(), f.status(), f.reason());
    }
    if (plan.runStatus() != null) {
      Runs.setStatus(c, runId, plan.runStatus()); // notifies kiln_events too
    } else if (!notified) {
      Runs.notifyEvents(c, runId);
    }
    return queued;
  }

  /**
   * Settles a running task with its result, compare-and-set on (id, attempt, worker, running).
   * Returns false, writing nothing, when the attempt is no longer the task's current one.
   */
  static boolean finishTask(Connection c, ClaimedTask t, Completion r) throws SQLException {
    return Tasks.settle(c, t, r, settling(r));
  }

  /**
   * {@link #finishTask} that first locks the run, in the same statement: returns the run as locked,
   * or empty (nothing written) when the attempt is no longer the task's current one.
   */
  static Optional<Runs.RunRow> lockRunAndFinishTask(Connection c, ClaimedTask t, Completion r)
      throws SQLException {
    return Tasks.lockRunAndSettle(c, t, r, settling(r));
  }

  private static Tasks.Settling settling(Completion r) {
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
    return new Tasks.Settling(status, detail, cacheKey, reusedFrom);
  }
}
