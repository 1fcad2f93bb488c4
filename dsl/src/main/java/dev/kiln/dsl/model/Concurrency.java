package dev.kiln.dsl.model;

import java.util.Locale;

/** What happens when a run of a pipeline starts while another of its runs is still active. */
public enum Concurrency {
  /** Both run. */
  ALLOW,
  /** The new run is not created; the trigger records why. */
  FORBID,
  /** The active runs are cancelled, then the new one starts. */
  REPLACE;

  public String yaml() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Concurrency of(String yaml) {
    return yaml == null ? ALLOW : valueOf(yaml.toUpperCase(Locale.ROOT));
  }
}
