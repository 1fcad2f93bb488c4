package dev.kiln.dsl.model;

import dev.kiln.dsl.expr.Values;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The tasks of a step. A step without {@code matrix} is one task named as the step; a matrix step
 * is one task per combination, in file order with the first key outermost, named {@code
 * step[k1=v1,k2=v2]}. Pure, so the validator, the planner and the CLI agree on names and order.
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

  /** One task of a step: its name (the tasks row's step_id) and its combination (empty: none). */
  public record Task(String name, Map<String, Object> combination) {}

  public static List<Task> tasks(Step step) {
    if (step.matrix().isEmpty()) {
      return List.of(new Task(step.id(), Map.of()));
    }
    List<Task> out = new ArrayList<>();
    for (Map<String, Object> c : combinations(step.matrix())) {
      out.add(new Task(name(step.id(), c), c));
    }
    return out;
  }

  /** How many tasks a step has. */
  public static int size(Step step) {
    int n = 1;
    for (List<Object> values : step.matrix().values()) {
      n *= values.size();
    }
    return n;
  }

  /**
   * Per-task maps (outputs, artifacts) as one map of lists, each list with one entry per task in
   * task order, null where a task has no value for the key.
   */
  public static Map<String, Object> lists(List<Map<String, String>> perTask) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < perTask.size(); i++) {
      for (var e : perTask.get(i).entrySet()) {
        @SuppressWarnings("unchecked")
        List<Object> l =
            (List<Object>)
                out.computeIfAbsent(
                    e.getKey(), k -> new ArrayList<>(Collections.nCopies(perTask.size(), null)));
        l.set(i, e.getValue());
      }
    }
    return out;
  }

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
