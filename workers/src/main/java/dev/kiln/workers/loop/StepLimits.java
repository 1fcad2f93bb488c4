package dev.kiln.workers.loop;

import dev.kiln.dsl.parse.Units;
import dev.kiln.engine.config.ConfigException;
import java.util.Map;

/**
 * What one attempt may leave behind, so a hostile or broken step fails (or is cut, with a marker)
 * instead of filling the worker's memory, the store or the disk. Set per worker through the
 * environment; docs/operations.md lists the variables.
 *
 * @param logLines lines kept of one attempt's log; later ones are counted and dropped
 * @param logBytes bytes kept of one attempt's log; likewise
 * @param outputsBytes largest KILN_OUTPUTS file
 * @param metricsBytes largest KILN_METRICS file
 * @param minFreeDisk free bytes under KILN_HOME below which the worker claims no new work
 */
record StepLimits(
    long logLines, long logBytes, long outputsBytes, long metricsBytes, long minFreeDisk) {

  static final StepLimits DEFAULTS =
      new StepLimits(100_000, 64L << 20, 1L << 20, 16L << 20, 256L << 20);

  static StepLimits fromEnvironment() {
    return from(System.getenv());
  }

  static StepLimits from(Map<String, String> env) {
    return new StepLimits(
        count(env, "KILN_MAX_LOG_LINES", DEFAULTS.logLines),
        size(env, "KILN_MAX_LOG_BYTES", DEFAULTS.logBytes),
        size(env, "KILN_MAX_OUTPUTS_BYTES", DEFAULTS.outputsBytes),
        size(env, "KILN_MAX_METRICS_BYTES", DEFAULTS.metricsBytes),
        size(env, "KILN_MIN_FREE_DISK", DEFAULTS.minFreeDisk));
  }

  private static long count(Map<String, String> env, String name, long dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException(name + " must be a positive whole number, got '" + v + "'");
  }

  private static long size(Map<String, String> env, String name, long dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    Long n = Units.parseSize(v);
    if (n == null) {
      throw new ConfigException(name + " must be a size such as 512k, 64m or 1g, got '" + v + "'");
    }
    return n;
  }

  /** A size for messages: 1 MiB, 64 KiB, 12 bytes. */
  static String describe(long bytes) {
    if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) {
      return (bytes >> 10) + " KiB";
    }
    return bytes + " bytes";
  }
}
