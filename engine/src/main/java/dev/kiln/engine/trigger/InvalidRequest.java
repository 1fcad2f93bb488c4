package dev.kiln.engine.trigger;

/** A request a trigger cannot turn into a run: the message names the field; status is HTTP's. */
public final class InvalidRequest extends Exception {
  private final int status;

  public InvalidRequest(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
