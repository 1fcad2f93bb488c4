package dev.kiln.dsl.expr;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collection;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The value semantics of expressions, public so that the engine renders outputs and tests
 * conditions exactly the way templates do.
 */
public final class Values {
  private static final Pattern NUMERIC =
      Pattern.compile("[-+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");

  /** Created on first use: most runs never render a list, and an ObjectMapper is slow to start. */
  private static final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  private Values() {}

  /**
   * null, false, "", "false" (any case), "0" and numeric zero are false; everything else is true.
   */
  public static boolean truthy(Object value) {
    if (value == null) {
      return false;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    if (value instanceof Number) {
      BigDecimal n = number(value);
      return n == null ? !Double.isNaN(((Number) value).doubleValue()) : n.signum() != 0;
    }
    if (value instanceof String s) {
      return !(s.isEmpty() || s.equalsIgnoreCase("false") || s.equals("0"));
    }
    return true;
  }

  /**
   * How a value appears inside a string: null is empty, integral numbers have no ".0", lists and
   * maps are JSON.
   */
  public static String toText(Object value) {
    if (value == null) {
      return "";
    }
    if (value instanceof String s) {
      return s;
    }
    if (value instanceof Double || value instanceof Float) {
      double d = value instanceof Float f ? Double.parseDouble(f.toString()) : (Double) value;
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        return Double.toString(d);
      }
      return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
    if (value instanceof BigDecimal bd) {
      return bd.signum() == 0 ? "0" : bd.stripTrailingZeros().toPlainString();
    }
    if (value instanceof Collection<?>
        || value instanceof Map<?, ?>
        || value.getClass().isArray()) {
      try {
        return Json.MAPPER.writeValueAsString(value);
      } catch (JsonProcessingException e) {
        // Only reachable for values no resolver should hand us (cyclic maps); keep the text usable.
        return String.valueOf(value);
      }
    }
    return value.toString();
  }

  /** Numbers and numeric-looking strings compare numerically; everything else compares as text. */
  static boolean equal(Object a, Object b) {
    BigDecimal na = number(a);
    BigDecimal nb = number(b);
    if (na != null && nb != null) {
      return na.compareTo(nb) == 0;
    }
    if (a instanceof Boolean || b instanceof Boolean) {
      return toText(a).equalsIgnoreCase(toText(b));
    }
    return toText(a).equals(toText(b));
  }

  static int compare(Object a, Object b) {
    BigDecimal na = number(a);
    BigDecimal nb = number(b);
    if (na != null && nb != null) {
      return na.compareTo(nb);
    }
    return toText(a).compareTo(toText(b));
  }

  /** The numeric value of a number or numeric-looking string, or null. */
  static BigDecimal number(Object value) {
    if (value instanceof Long
        || value instanceof Integer
        || value instanceof Short
        || value instanceof Byte) {
      return BigDecimal.valueOf(((Number) value).longValue());
    }
    if (value instanceof BigInteger bi) {
      return new BigDecimal(bi);
    }
    if (value instanceof BigDecimal bd) {
      return bd;
    }
    if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      return Double.isNaN(d) || Double.isInfinite(d) ? null : BigDecimal.valueOf(d);
    }
    if (value instanceof String s) {
      String t = s.trim();
      // Bounded length keeps a pathological 1 MB digit string from costing more than it must.
      if (t.length() <= 400 && NUMERIC.matcher(t).matches()) {
        try {
          return new BigDecimal(t);
        } catch (NumberFormatException e) {
          return null; // an exponent beyond int range: not a number we can compare
        }
      }
    }
    return null;
  }
}
