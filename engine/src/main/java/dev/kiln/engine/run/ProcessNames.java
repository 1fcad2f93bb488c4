package dev.kiln.engine.run;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of kiln processes (workers, run drivers) end in {@code <pid>@<host>}, the JVM's name, so a
 * process on the same host can tell a dead one at once instead of waiting out its lease.
 */
public final class ProcessNames {
  private static final Pattern PID_AT_HOST = Pattern.compile("(\\d+)@([^@]+)$");
  private static final String JVM = ManagementFactory.getRuntimeMXBean().getName();
  private static final String HOST = hostOf(JVM);

  private ProcessNames() {}

  /** A name for a role of this process, e.g. "run-1234@host". */
  public static String of(String role) {
    return role + "-" + JVM;
  }

  private static String hostOf(String jvmName) {
    Matcher m = PID_AT_HOST.matcher(jvmName);
    return m.find() ? m.group(2) : jvmName;
  }

  /** The names among {@code names} that belong to processes of this host that no longer run. */
  public static List<String> deadOnThisHost(Collection<String> names) {
    List<String> dead = new ArrayList<>();
    for (String n : names) {
      if (n == null) {
        continue;
      }
      Matcher m = PID_AT_HOST.matcher(n);
      if (m.find()
          && m.group(2).equals(HOST)
          && ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true)) {
        dead.add(n);
      }
    }
    return dead;
  }
}
