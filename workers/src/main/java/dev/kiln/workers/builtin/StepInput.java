package dev.kiln.workers.builtin;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/** Reading a built-in step's {@code with:} values; a bad value is a {@link BadInput} naming it. */
final class StepInput {
  private final String step;
  private final Map<String, Object> with;

  StepInput(String step, Map<String, Object> with) {
    this.step = step;
    this.with = with == null ? Map.of() : with;
  }

  /** A problem with what the step was given; the step fails with this one line. */
  static final class BadInput extends Exception {
    BadInput(String message) {
      super(message);
    }
  }

  Object raw(String key) {
    return with.get(key);
  }

  boolean has(String key) {
    Object v = with.get(key);
    return v != null && !(v instanceof String s && s.isBlank());
  }

  String string(String key) throws BadInput {
    if (!has(key)) {
      throw new BadInput(step + ": 'with." + key + "' is required");
    }
    return String.valueOf(with.get(key));
  }

  String string(String key, String fallback) {
    return has(key) ? String.valueOf(with.get(key)) : fallback;
  }

  Double number(String key) throws BadInput {
    return number(step, "with." + key, with.get(key));
  }

  static Double number(String step, String what, Object v) throws BadInput {
    if (v == null || (v instanceof String s && s.isBlank())) {
      return null;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new BadInput(step + ": '" + what + "' must be a number, got '" + v + "'");
    }
  }

  long integer(String key, long fallback) throws BadInput {
    Double d = number(key);
    if (d == null) {
      return fallback;
    }
    if (d != Math.rint(d)) {
      throw new BadInput(step + ": 'with." + key + "' must be a whole number, got '" + with.get(key) + "'");
    }
    return d.longValue();
  }

  /**
   * A path that must stay inside its folder: relative to base, with no {@code ..} leading out and
   * no symbolic link leading out; an absolute path only inside one of the allowed roots (e.g. the
   * artifact store, where {@code ${{ steps.x.artifacts.y }}} points).
   */
  Path containedPath(String key, Path base, Path... allowedRoots) throws BadInput {
    String raw = string(key);
    Path p = Path.of(raw);
    Path resolved;
    if (p.isAbsolute()) {
      resolved = p.normalize();
      boolean inside = false;
      for (Path root : allowedRoots) {
        inside |= resolved.startsWith(root.toAbsolutePath().normalize());
      }
      if (!inside) {
        throw new BadInput(step + ": " + key + " path '" + raw
            + "' is absolute and outside the artifact store; use a path relative to the pipeline's folder"
            + " or ${{ steps.STEP.artifacts.NAME }}");
      }
      base = allowedRoots.length == 0 ? base : rootOf(resolved, allowedRoots);
    } else {
      resolved = base.resolve(p).normalize();
      if (!resolved.startsWith(base.toAbsolutePath().normalize())) {
        throw new BadInput(step + ": " + key + " path '" + raw + "' escapes its folder " + base);
      }
    }
    if (!Files.exists(resolved, LinkOption.NOFOLLOW_LINKS)) {
      throw new BadInput(step + ": " + key + " path '" + raw + "' does not exist (looked at " + resolved + ")");
    }
    try {
      if (!resolved.toRealPath().startsWith(base.toRealPath())) {
        throw new BadInput(step + ": " + key + " path '" + raw
            + "' is a symbolic link that leads out of its folder " + base);
      }
    } catch (java.io.IOException e) {
      throw new BadInput(step + ": cannot read " + key + " path '" + raw + "': " + e.getMessage());
    }
    return resolved;
  }

  private static Path rootOf(Path p, Path[] roots) {
    for (Path root : roots) {
      if (p.startsWith(root.toAbsolutePath().normalize())) {
        return root.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException("checked above");
  }
}
