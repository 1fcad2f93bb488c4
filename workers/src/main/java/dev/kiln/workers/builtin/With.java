package dev.kiln.workers.builtin;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Typed access to a built-in step's {@code with:} map; a wrong or missing value is a
 * {@link BadInput} naming the step and the field.
 */
public final class With {
  /** A mistake in a step's inputs: the step fails with this one-line message. */
  public static final class BadInput extends Exception {
    public BadInput(String message) {
      super(message);
    }
  }

  private final String step;
  private final Map<String, Object> with;
  private final Path baseDir;

  public With(String step, Map<String, Object> with, Path baseDir) {
    this.step = step;
    this.with = with == null ? Map.of() : with;
    this.baseDir = baseDir;
  }

  public BadInput bad(String field, String problem) {
    return new BadInput(step + ": with." + field + ": " + problem);
  }

  public boolean has(String field) {
    Object v = with.get(field);
    return v != null && !(v instanceof String s && s.isEmpty());
  }

  public String string(String field) throws BadInput {
    if (!has(field)) {
      throw bad(field, "required");
    }
    return String.valueOf(with.get(field));
  }

  public String string(String field, String fallback) {
    return has(field) ? String.valueOf(with.get(field)) : fallback;
  }

  /** A path; relative ones resolve against the folder the run was started from. */
  public Path path(String field) throws BadInput {
    Path p = Path.of(string(field));
    return p.isAbsolute() ? p : baseDir.resolve(p).normalize();
  }

  public Double number(String field, Double fallback) throws BadInput {
    if (!has(field)) {
      return fallback;
    }
    Object v = with.get(field);
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw bad(field, "'" + v + "' is not a number");
    }
  }

  public int integer(String field, int fallback) throws BadInput {
    Double d = number(field, null);
    if (d == null) {
      return fallback;
    }
    if (d != Math.rint(d)) {
      throw bad(field, "'" + with.get(field) + "' is not a whole number");
    }
    return d.intValue();
  }

  public boolean bool(String field, boolean fallback) throws BadInput {
    if (!has(field)) {
      return fallback;
    }
    Object v = with.get(field);
    if (v instanceof Boolean b) {
      return b;
    }
    String s = String.valueOf(v).trim();
    if (s.equalsIgnoreCase("true")) {
      return true;
    }
    if (s.equalsIgnoreCase("false")) {
      return false;
    }
    throw bad(field, "'" + v + "' is not true or false");
  }

  /** A list given as a YAML list or as a comma-separated string. */
  public List<String> list(String field) {
    if (!has(field)) {
      return List.of();
    }
    Object v = with.get(field);
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      l.forEach(x -> out.add(String.valueOf(x).trim()));
    } else {
      for (String s : String.valueOf(v).split(",")) {
        if (!s.isBlank()) {
          out.add(s.trim());
        }
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  public Map<String, Object> map(String field) throws BadInput {
    if (!has(field)) {
      return Map.of();
    }
    if (with.get(field) instanceof Map<?, ?> m) {
      return (Map<String, Object>) m;
    }
    throw bad(field, "expected a map");
  }
}
