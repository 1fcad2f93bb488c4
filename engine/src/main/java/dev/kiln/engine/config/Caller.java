package dev.kiln.engine.config;

import java.io.File;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The environment and working folder of whoever typed the command: this process's own, or, while
 * {@code kiln daemon} serves a request, those the launcher sent with it. Commands read their
 * settings through {@link KilnConfig#fromEnvironment()} and resolve relative file arguments through
 * {@link #resolve}, so a command answers the same in the daemon as in a JVM of its own. The daemon
 * serves one request at a time, so one process-wide value is enough.
 */
public final class Caller {
  private static volatile Map<String, String> env;
  private static volatile Path cwd;

  private Caller() {}

  /** The caller's environment. */
  public static Map<String, String> env() {
    Map<String, String> e = env;
    return e != null ? e : System.getenv();
  }

  /** {@code file} as this process must open it: relative ones against the caller's folder. */
  public static Path resolve(Path file) {
    Path c = cwd;
    return c == null || file.isAbsolute() ? file : c.resolve(file);
  }

  /**
   * Runs {@code work} as if typed in {@code folder} with {@code environment}. Relative folders in
   * KILN_HOME and KILN_DATA_ROOTS are resolved against {@code folder}, as a JVM started there
   * would.
   */
  public static <T> T as(Path folder, Map<String, String> environment, Callable<T> work)
      throws Exception {
    env = resolved(folder, environment);
    cwd = folder;
    try {
      return work.call();
    } finally {
      env = null;
      cwd = null;
    }
  }

  /**
   * {@code environment} with relative KILN_HOME and KILN_DATA_ROOTS resolved against {@code
   * folder}.
   */
  public static Map<String, String> resolved(Path folder, Map<String, String> environment) {
    Map<String, String> e = new HashMap<>(environment);
    e.computeIfPresent("KILN_HOME", (k, v) -> v.isBlank() ? v : folder.resolve(v).toString());
    e.computeIfPresent(
        "KILN_DATA_ROOTS",
        (k, v) ->
            Stream.of(v.split(File.pathSeparator))
                .map(s -> s.isBlank() ? s : folder.resolve(s).toString())
                .collect(Collectors.joining(File.pathSeparator)));
    return Map.copyOf(e);
  }
}
