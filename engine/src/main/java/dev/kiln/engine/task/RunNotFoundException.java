package dev.kiln.engine.task;

/** No run has this id. */
public final class RunNotFoundException extends RuntimeException {
  public RunNotFoundException(long id) {
    super("no run " + id);
  }
}
