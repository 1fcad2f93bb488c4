package dev.kiln.dsl.parse;

import dev.kiln.dsl.expr.Values;
import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Resources;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Binds a step's sub-objects for {@link StepBinder}: {@code matrix:} and {@code resources:}. */
final class StepParts {
  private static final Pattern MATRIX_KEY = Pattern.compile("[a-zA-Z0-9_-]+");
  static final int MAX_MATRIX = 256;

  private final Fields f;
  private final Problems problems;

  StepParts(Fields f) {
    this.f = f;
    this.problems = f.problems();
  }

  Map<String, List<Object>> matrix(YNode n, String id) {
    Map<String, List<Object>> out = new LinkedHashMap<>();
    YNode.Mapping m = f.map(n, "'matrix'");
    if (m == null) {
      return out;
    }
    if (m.entries().isEmpty()) {
      problems.add(m, "'matrix' must have at least one key, like { lr: [0.1, 0.01] }");
    }
    long combinations = 1;
    for (YNode.Entry e : m.entries().values()) {
      String key = e.key().text();
      if (!MATRIX_KEY.matcher(key).matches()) {
        problems.add(e.key(), "invalid matrix key '" + key + "': use letters, digits, '_' and '-'");
      }
      if (!(e.value() instanceof YNode.Seq seq) || seq.items().isEmpty()) {
        out.put(key, List.of()); // still a key, so that matrix.<key> is not reported as well
        problems.add(
            Fields.absent(e.value()) ? e.key() : e.value(),
            "matrix '"
                + key
                + "' must be a non-empty list, got "
                + (e.value() instanceof YNode.Seq ? "an empty list" : e.value().describe()));
        continue;
      }
      List<Object> values = new ArrayList<>();
      // By rendered text: 1 and 1.0, or 0.1 and "0.1", read the same through ${{ matrix.KEY }}
      // and would make two tasks of one name.
      Set<String> seen = new HashSet<>();
      for (YNode item : seq.items()) {
        if (!(item instanceof YNode.Scalar s) || s.isNull()) {
          problems.add(
              item,
              "matrix '"
                  + key
                  + "' values must be strings, numbers or booleans, got "
                  + item.describe());
          continue;
        }
        f.literal(s, "matrix values");
        if (!seen.add(Values.toText(s.value()))) {
          problems.add(s, "matrix '" + key + "' lists " + s.describe() + " twice");
        }
        values.add(s.value());
      }
      out.put(key, List.copyOf(values));
      combinations = Math.min(combinations * values.size(), Integer.MAX_VALUE);
    }
    if (combinations > MAX_MATRIX) {
      problems.add(
          m, "'matrix' expands to " + combinations + " combinations; the limit is " + MAX_MATRIX);
    } else if (combinations > 0) {
      // A task's name is also a folder name: refuse here what the file system would refuse later.
      String longest =
          MatrixTasks.combinations(out).stream()
              .map(c -> MatrixTasks.name(id, c))
              .max(Comparator.comparingInt(String::length))
              .orElse("");
      if (longest.length() > MatrixTasks.MAX_NAME) {
        problems.add(
            m,
            "'matrix' makes task names of up to "
                + longest.length()
                + " characters, like "
                + longest.substring(0, 40)
                + "...; the limit is "
                + MatrixTasks.MAX_NAME
                + ": use shorter keys or values");
      }
    }
    return out;
  }

  Resources resources(YNode n) {
    YNode.Mapping m = f.map(n, "'resources'");
    if (m == null) {
      return Resources.NONE;
    }
    f.checkKeys(m, List.of("cpus", "memory"));
    Double cpus = f.positiveNumber(m.get("cpus"), "'cpus'");
    Long memory = f.size(m.get("memory"), "'memory'");
    return new Resources(cpus, memory);
  }
}
