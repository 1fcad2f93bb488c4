package dev.kiln.dsl.model;

import dev.kiln.dsl.expr.Values;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The combinations of a {@code matrix} and the names of their tasks: in file order with the first
 * key outermost, named {@code step[k1=v1,k2=v2]}. Pure, so the validator, the planner and the CLI
 * agree on names and order.
 */
public final class MatrixTasks {
  /**
   * The longest task name: it is also a folder name (work folder, KILN_INPUTS), which a file system
   * keeps under 255 bytes, with room for the attempt number.
   */
  public static final int MAX_NAME = 200;

  // Values written bare in a task name; anything else is quoted (see quote).
  private static final Pattern BARE = Pattern.compile("[A-Za-z0-9_.+@-]+");

  private MatrixTasks() {}

  /** Every combination of the values, in file order with the first key outermost. */
  public static List<Map<String, Object>> combinations(Map<String, List<Object>> matrix) {
    List<Map<String, Object>> combos = new ArrayList<>();
    combos.add(new LinkedHashMap<>());
    for (var e : matrix.entrySet()) {
      List<Map<String, Object>> next = new ArrayList<>(combos.size() * e.getValue().size());
      for (Map<String, Object> c : combos) {
        for (Object v : e.getValue()) {
          Map<String, Object> m = new LinkedHashMap<>(c);
          m.put(e.getKey(), v);
          next.add(m);
        }
      }
      combos = next;
    }
    List<Map<String, Object>> out = new ArrayList<>(combos.size());
    combos.forEach(c -> out.add(Collections.unmodifiableMap(c)));
    return out;
  }

  /**
   * {@code step[k1=v1,k2=v2]}, values as {@code ${{ matrix.KEY }}} renders them. The DSL rejects
   * two values of a key that render the same, and a value outside [A-Za-z0-9_.+@-] is quoted, so
   * names are unique within a step. The name is also a folder name (work folder, KILN_INPUTS) and
   * part of a Docker bind, so quoting escapes every character that could matter there.
   */
  public static String name(String stepId, Map<String, Object> combination) {
    StringBuilder b = new StringBuilder(stepId).append('[');
    String sep = "";
    for (var e : combination.entrySet()) {
      String text = Values.toText(e.getValue());
      b.append(sep)
          .append(e.getKey())
          .append('=')
          .append(BARE.matcher(text).matches() ? text : quote(text));
      sep = ",";
    }
    return b.append(']').toString();
  }

  /** A JSON string literal whose only characters besides letters and digits are " _.+@=,-\. */
  private static String quote(String text) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if ((ch >= 'a' && ch <= 'z')
          || (ch >= 'A' && ch <= 'Z')
          || (ch >= '0' && ch <= '9')
          || " _.+@=,-".indexOf(ch) >= 0) {
        b.append(ch);
      } else {
        b.append(String.format("\\u%04x", (int) ch));
      }
    }
    return b.append('"').toString();
  }
}
