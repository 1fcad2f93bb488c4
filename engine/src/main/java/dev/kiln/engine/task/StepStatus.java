package dev.kiln.engine.task;

import java.util.Collection;
import java.util.Locale;

/** The status of a step within a run (one task row). Stored as lower-case text. */
public enum StepStatus {
  /** waiting for a worker (possibly until a retry backoff has passed) */
  QUEUED,
  /** claimed by a worker that holds a lease on it */
  RUNNING,
  SUCCEEDED,
  FAILED,
  /** its condition was false, or a step it needs did not succeed */
  SKIPPED,
  /** the run was cancelled before or while it ran */
  CANCELLED;

  public String db() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static StepStatus of(String db) {
    return valueOf(db.toUpperCase(Locale.ROOT));
  }

  public boolean terminal() {
    return this != QUEUED && this != RUNNING;
  }

  /**
   * The status of a step over its tasks (a matrix step's combinations): active while any task is;
   * then failed if any failed, cancelled if any was cancelled, skipped if all were skipped, else
   * succeeded.
   */
  public static StepStatus overTasks(Collection<StepStatus> tasks) {
    if (tasks.contains(RUNNING)) {
      return RUNNING;
    }
    if (tasks.contains(QUEUED)) {
      return QUEUED;
    }
    if (tasks.contains(FAILED)) {
      return FAILED;
    }
    if (tasks.contains(CANCELLED)) {
      return CANCELLED;
    }
    return tasks.stream().allMatch(s -> s == SKIPPED) ? SKIPPED : SUCCEEDED;
  }
}
