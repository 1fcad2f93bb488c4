package dev.kiln.steps;

import dev.kiln.engine.spi.StepPaths;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed access to a built-in step's {@code with:} map; a wrong or missing value is a {@link
 * BadInput} naming the step and the field, e.g. {@code model/gate: with.min: 'x' is not a number}.
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
  private final StepPaths paths;

  /** How a field is named in messages: "with." or, for a nested map, "with.fairness.". */
  private final String prefix;

  public With(String step, Map<String, Object> with, StepPaths paths) {
    this(step, with, paths, "with.");
  }

  private With(String step, Map<String, Object> with, StepPaths paths, String prefix) {
    this.step = step;
    this.with = with == null ? Map.of() : with;
    this.paths = paths;
    this.prefix = prefix;
  }

  public BadInput bad(String field, String problem) {
    return new BadInput(step + ": " + prefix + field + ": " + problem);
  }

  /** The value as given, or null. */
  public Object raw(String field) {
    return with.get(field);
  }

  public boolean has(String field) {
    Object v = with.get(field);
    return v != null && !(v instanceof String s && s.isBlank());
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

  /**
   * An existing file or folder named by the field, resolved and confined by {@link StepPaths}
   * (relative to the run's folder; refused outside the allowed folders, also through a symbolic
   * link).
   */
  public Path path(String field) throws BadInput {
    try {
      return paths.read(string(field));
    } catch (StepPaths.Refused e) {
      throw bad(field, e.getMessage());
    }
  }

  /** Like {@link #path} when something exists there; empty when nothing does. */
  public Optional<Path> pathIfExists(String field) throws BadInput {
    try {
      return paths.readIfExists(string(field));
    } catch (StepPaths.Refused e) {
      throw bad(field, e.getMessage());
    }
  }

  /** A file to write, confined like {@link #path}. */
  public Path outputPath(String field) throws BadInput {
    try {
      return paths.write(string(field));
    } catch (StepPaths.Refused e) {
      throw bad(field, e.getMessage());
    }
  }

  /** A number, or null when the field is not given. */
  public Double number(String field) throws BadInput {
    return number(field, null);
  }

  public Double number(String field, Double fallback) throws BadInput {
    if (!has(field)) {
      return fallback;
    }
    return number(step, prefix + field, with.get(field));
  }

  /** A number given anywhere in a step's inputs ({@code what} names it), or null. */
  public static Double number(String step, String what, Object v) throws BadInput {
    if (v == null || (v instanceof String s && s.isBlank())) {
      return null;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new BadInput(step + ": " + what + ": '" + v + "' is not a number");
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

  /**
   * The inputs of a nested map ({@code with.fairness}), named {@code with.fairness.FIELD} in
   * messages; {@code what} says what the map must hold when it is not a map.
   */
  @SuppressWarnings("unchecked")
  public With nested(String field, String what) throws BadInput {
    if (!(with.get(field) instanceof Map<?, ?> m)) {
      throw bad(field, "must be a map with " + what);
    }
    return new With(step, (Map<String, Object>) m, paths, prefix + field + ".");
  }
}
