package dev.kiln.steps.drift;

import java.util.Locale;

/** A drift test for one column; {@link #AUTO} picks one per column the way Evidently does. */
enum Method {
  KS("ks", 0.05, true),
  WASSERSTEIN("wasserstein", 0.1, false),
  PSI("psi", 0.1, false),
  JENSENSHANNON("jensenshannon", 0.1, false),
  CHISQUARE("chisquare", 0.05, true),
  AUTO("auto", Double.NaN, false);

  private final String id;
  private final double defaultThreshold;
  private final boolean pValue;

  Method(String id, double defaultThreshold, boolean pValue) {
    this.id = id;
    this.defaultThreshold = defaultThreshold;
    this.pValue = pValue;
  }

  public String id() {
    return id;
  }

  public double defaultThreshold() {
    return defaultThreshold;
  }

  /** Whether the test gives a p-value (drift when it is small) rather than a distance. */
  public boolean hasPValue() {
    return pValue;
  }

  /** Whether it compares numbers (KS, Wasserstein) and so cannot take a categorical column. */
  public boolean numericOnly() {
    return this == KS || this == WASSERSTEIN;
  }

  public static Method parse(String s) {
    for (Method m : values()) {
      if (m.id.equals(s.toLowerCase(Locale.ROOT))) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown drift method '"
            + s
            + "': use ks, wasserstein, psi, jensenshannon, chisquare or auto");
  }
}
