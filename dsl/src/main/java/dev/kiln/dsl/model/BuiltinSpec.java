package dev.kiln.dsl.model;

import java.util.List;
import java.util.Map;

/**
 * What a built-in step ({@code uses: NAME}) declares about itself: its {@code with:} keys with
 * their types, and the outputs it writes. Pipelines are checked against it before any work ({@code
 * kiln validate}, the start of a run), and docs/steps.md and the JSON Schema are made from it.
 *
 * @param with the keys it reads; null when it does not declare them (any key is accepted)
 * @param outputs the outputs it writes ({@code steps.ID.outputs.NAME}), with what they hold
 */
public record BuiltinSpec(
    String name, String description, List<WithKey> with, Map<String, String> outputs) {

  public BuiltinSpec {
    with = with == null ? null : List.copyOf(with);
    outputs = outputs == null ? Map.of() : outputs;
  }

  /** A built-in that declares nothing about its {@code with:}: every key is accepted. */
  public static BuiltinSpec undeclared(String name) {
    return new BuiltinSpec(name, null, null, Map.of());
  }

  /** One key of {@code with:}. */
  public record WithKey(String name, Type type, boolean required, String description) {
    public static WithKey required(String name, Type type, String description) {
      return new WithKey(name, type, true, description);
    }

    public static WithKey optional(String name, Type type, String description) {
      return new WithKey(name, type, false, description);
    }
  }

  /** The type of a {@code with:} value, as YAML gives it. */
  public enum Type {
    /** text; a number or boolean written in YAML is accepted as its text */
    STRING("string"),
    /** a file or folder path, relative to the pipeline file's folder */
    PATH("string"),
    NUMBER("number"),
    INTEGER("integer"),
    BOOLEAN("boolean"),
    /** a list, or one value standing for a list of it */
    LIST("array"),
    MAP("object"),
    /** anything */
    ANY(null);

    private final String jsonType;

    Type(String jsonType) {
      this.jsonType = jsonType;
    }

    /** The JSON Schema type, null for {@link #ANY}. */
    public String jsonType() {
      return jsonType;
    }

    /** Whether a plain YAML value (String, BigInteger/Long/Integer, Double, Boolean, ...) fits. */
    public boolean accepts(Object v) {
      if (v == null || this == ANY) {
        return true;
      }
      if (v instanceof String s && s.contains("${{")) {
        return true; // an expression: its value is known only when the step starts
      }
      return switch (this) {
        case STRING, PATH -> v instanceof String || v instanceof Number || v instanceof Boolean;
        case NUMBER -> v instanceof Number;
        case INTEGER ->
            v instanceof Number n && !(v instanceof Double) && !(v instanceof Float)
                || v instanceof Double d && d == Math.rint(d) && !d.isInfinite();
        case BOOLEAN -> v instanceof Boolean;
        case LIST -> true;
        case MAP -> v instanceof Map;
        case ANY -> true;
      };
    }

    /** How a problem names the type: "a number", "a map". */
    public String describe() {
      return switch (this) {
        case STRING -> "a string";
        case PATH -> "a path";
        case NUMBER -> "a number";
        case INTEGER -> "a whole number";
        case BOOLEAN -> "true or false";
        case LIST -> "a list";
        case MAP -> "a map";
        case ANY -> "any value";
      };
    }
  }
}
