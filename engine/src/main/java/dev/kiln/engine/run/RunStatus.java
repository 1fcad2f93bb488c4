package dev.kiln.engine.run;

/** The status of a run, derived from its steps. Stored as lower-case text. */
public enum RunStatus {
  QUEUED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public String db() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static RunStatus of(String db) {
    return valueOf(db.toUpperCase(java.util.Locale.ROOT));
  }

  public boolean terminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
