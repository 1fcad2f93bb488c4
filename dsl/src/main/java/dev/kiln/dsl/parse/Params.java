package dev.kiln.dsl.parse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.expr.Values;
import dev.kiln.dsl.model.Location;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.ParamType;
import dev.kiln.dsl.model.Pipeline;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** Binds the values given to a run ({@code -p key=value}, API, webhook) to a pipeline's params. */
public final class Params {
  private static final Pattern DECIMAL =
      Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");

  private Params() {}

  /**
   * Every declared param in declared order, converted to its type (String, Long, Double, Boolean):
   * the given value, else the default. Unknown, missing and malformed params are all reported
   * together.
   */
  public static Map<String, Object> bind(Pipeline pipeline, Map<String, String> given)
      throws PipelineException {
    String file = pipeline.source() != null ? pipeline.source().file() : pipeline.name();
    List<Problem> problems = new ArrayList<>();
    Map<String, ParamSpec> declared = pipeline.params();
    // Sorted so the report does not depend on the caller's map implementation.
    for (String name : new TreeSet<>(given.keySet())) {
      if (!declared.containsKey(name)) {
        String hint = declared.isEmpty() ? "" : suggestion(name, declared.keySet());
        String list =
            declared.isEmpty()
                ? "pipeline '" + pipeline.name() + "' declares no params"
                : "pipeline '"
                    + pipeline.name()
                    + "' declares: "
                    + String.join(", ", declared.keySet());
        problems.add(Problem.ofFile(file, "unknown param '" + name + "' (" + list + ")" + hint));
      }
    }
    Map<String, Object> bound = new LinkedHashMap<>();
    for (ParamSpec spec : declared.values()) {
      String value = given.get(spec.name());
      if (value != null) {
        Object converted = convert(spec.type(), value);
        if (converted == null) {
          problems.add(Problem.ofFile(file, mismatch(spec, value)));
        } else {
          bound.put(spec.name(), converted);
        }
      } else if (spec.defaultValue() != null) {
        bound.put(spec.name(), spec.defaultValue());
      } else {
        problems.add(Problem.ofFile(file, "missing required param '" + spec.name() + "'"));
      }
    }
    if (!problems.isEmpty()) {
      throw new PipelineException(problems);
    }
    return Collections.unmodifiableMap(bound);
  }

  /**
   * Converts a JSON or YAML value (String, Number, Boolean, or a Jackson JsonNode) to the param's
   * type; numeric and boolean strings are accepted for number, integer and boolean params.
   */
  public static Object coerce(ParamSpec spec, Object value) throws PipelineException {
    Object converted = convert(spec.type(), value);
    String file = spec.location() != null ? spec.location().file() : Location.UNKNOWN.file();
    if (converted == null) {
      throw new PipelineException(List.of(Problem.ofFile(file, mismatch(spec, value))));
    }
    if (converted instanceof String text && text.indexOf('\u0000') >= 0) {
      // A value reaches a step as an environment variable, which cannot hold a NUL byte.
      throw new PipelineException(
          List.of(
              Problem.ofFile(
                  file,
                  "param '" + spec.name() + "' contains a NUL byte, which no step can receive")));
    }
    return converted;
  }

  /** The converted value, or null when the value does not fit the type. */
  static Object convert(ParamType type, Object value) {
    Object v = value instanceof JsonNode json ? fromJson(json) : value;
    if (v == null) {
      return null;
    }
    return switch (type) {
      case STRING -> toText(v);
      case BOOLEAN -> toBoolean(v);
      case INTEGER -> toInteger(v);
      case NUMBER -> toNumber(v);
    };
  }

  static String mismatch(ParamSpec spec, Object value) {
    String expected =
        switch (spec.type()) {
          case STRING -> "a string";
          case NUMBER -> "a number";
          case INTEGER -> "an integer";
          case BOOLEAN -> "a boolean (true or false)";
        };
    return "param '" + spec.name() + "': expected " + expected + ", got " + describe(value);
  }

  private static String describe(Object value) {
    Object v =
        value instanceof JsonNode json && (json.isValueNode() || json.isNull())
            ? fromJson(json)
            : value;
    if (v == null) {
      return "nothing";
    }
    if (v instanceof Collection<?> || (v instanceof JsonNode j && j.isArray())) {
      return "a list";
    }
    if (v instanceof Map<?, ?> || v instanceof JsonNode) {
      return "a map";
    }
    return "'" + v + "'";
  }

  private static String suggestion(String name, Collection<String> candidates) {
    String best = Suggest.closest(name, candidates);
    return best == null ? "" : " — did you mean '" + best + "'?";
  }

  private static Object fromJson(JsonNode json) {
    if (json.isNull() || json.isMissingNode()) {
      return null;
    }
    if (json.isBoolean()) {
      return json.booleanValue();
    }
    if (json.isIntegralNumber()) {
      return json.bigIntegerValue();
    }
    if (json.isNumber()) {
      return json.decimalValue();
    }
    if (json.isTextual()) {
      return json.textValue();
    }
    return json; // arrays and objects fit no param type
  }

  private static String toText(Object v) {
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Boolean
        || v instanceof Long
        || v instanceof Integer
        || v instanceof BigInteger) {
      return v.toString();
    }
    if (v instanceof Number n) {
      return Values.toText(n);
    }
    return null;
  }

  private static Boolean toBoolean(Object v) {
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof String s) {
      String t = s.trim();
      if (t.equalsIgnoreCase("true")) {
        return true;
      }
      if (t.equalsIgnoreCase("false")) {
        return false;
      }
    }
    return null;
  }

  private static Long toInteger(Object v) {
    BigDecimal d = decimal(v);
    if (d == null) {
      return null;
    }
    try {
      return d.stripTrailingZeros().scale() > 0 ? null : d.longValueExact();
    } catch (ArithmeticException e) {
      return null; // fractional or beyond the range of a long
    }
  }

  private static Double toNumber(Object v) {
    BigDecimal d = decimal(v);
    if (d == null) {
      return null;
    }
    double x = d.doubleValue();
    return Double.isFinite(x) ? x : null;
  }

  private static BigDecimal decimal(Object v) {
    if (v instanceof Boolean) {
      return null;
    }
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return BigDecimal.valueOf(((Number) v).longValue());
    }
    if (v instanceof BigInteger bi) {
      return new BigDecimal(bi);
    }
    if (v instanceof BigDecimal bd) {
      return bd;
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      return Double.isFinite(d) ? new BigDecimal(Double.toString(d)) : null;
    }
    if (v instanceof String s) {
      String t = s.trim();
      if (t.length() <= 100 && DECIMAL.matcher(t).matches()) {
        try {
          return new BigDecimal(t);
        } catch (NumberFormatException e) {
          return null; // exponent out of range
        }
      }
    }
    return null;
  }
}
