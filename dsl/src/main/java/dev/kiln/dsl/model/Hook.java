package dev.kiln.dsl.model;

/**
 * When a hook step ({@code on_failure:} / {@code on_success:}) runs: once every other step of the
 * run has settled, and only if the run's result so far is the hook's. Like Argo's {@code onExit}
 * and Kestra's {@code errors:}, hooks see every step's status and outputs.
 */
public enum Hook {
  ON_FAILURE("on_failure"),
  ON_SUCCESS("on_success");

  private final String key;

  Hook(String key) {
    this.key = key;
  }

  /** The pipeline key that declares this kind of hook. */
  public String key() {
    return key;
  }
}
