package dev.kiln.engine.task;

import java.util.Locale;

/** The status of a run, derived from its steps. Stored as lower-case text. */
public enum RunStatus {
  QUEUED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public String db() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static RunStatus of(String db) {
    return valueOf(db.toUpperCase(Locale.ROOT));
  }

  public boolean terminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
