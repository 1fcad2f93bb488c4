package dev.kiln.engine.store;

import java.util.Locale;

/**
 * What an API token may do, ordered: each role may do everything the roles before it may. The route
 * table declares the least role each route needs.
 */
public enum Role {
  /** Reads runs, logs, artifacts, pipelines, models, datasets, drift, features, metrics. */
  VIEWER,
  /** Also starts, cancels, retries and tags runs, approves steps. */
  OPERATOR,
  /** Also promotes and rolls back models, manages tokens. */
  ADMIN;

  public boolean allows(Role needed) {
    return compareTo(needed) >= 0;
  }

  /** The spelling in the store, the CLI and messages: {@code viewer}, {@code operator}, ... */
  public String db() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The role named {@code text}, or null. */
  public static Role parse(String text) {
    for (Role r : values()) {
      if (r.db().equals(text)) {
        return r;
      }
    }
    return null;
  }
}
