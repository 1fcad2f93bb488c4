package dev.kiln.engine.run;

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
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static StepStatus of(String db) {
    return valueOf(db.toUpperCase(java.util.Locale.ROOT));
  }

  public boolean terminal() {
    return this != QUEUED && this != RUNNING;
  }
}
