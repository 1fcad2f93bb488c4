package dev.kiln.engine.util;

import java.util.Locale;

/**
 * How the JDK starts child processes (steps, the embedded database): vfork where it is the plain,
 * supported choice. On Linux, JDK 17's default starts each child through jspawnhelper, which then
 * execs the command: two execs a step. vfork execs the command straight from the JVM (`sh -c true`:
 * 3.4 ms against 6.5 ms here; docs/benchmarks.md, "Per step"). JDKs from 21 on deprecate vfork, and
 * from 23 on print a warning at the first child, so there the JDK's default stays. Read by the JDK
 * once, at its first child: set it before any is started. A value the user set wins.
 */
public final class LaunchMechanism {
  static final String PROPERTY = "jdk.lang.Process.launchMechanism";

  private LaunchMechanism() {}

  /** Sets vfork for this JVM when {@link #choose} says so. */
  public static void preferVfork() {
    String v =
        choose(
            Runtime.version().feature(),
            System.getProperty("os.name", ""),
            System.getProperty(PROPERTY));
    if (v != null) {
      System.setProperty(PROPERTY, v);
    }
  }

  /** The value to set for a JDK of {@code feature} on {@code os}, or null to leave it. */
  static String choose(int feature, String os, String current) {
    if (current != null || feature >= 21 || !os.toLowerCase(Locale.ROOT).contains("linux")) {
      return null;
    }
    return "VFORK";
  }
}
