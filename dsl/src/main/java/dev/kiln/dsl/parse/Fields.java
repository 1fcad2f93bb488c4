package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.RetryPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Typed reads of YAML nodes. Each read either returns a value or adds one problem naming the key
 * and what was found, and returns null; callers carry on so that every problem is reported. An
 * empty value ({@code key:} with nothing after it) reads as absent.
 */
public final class Fields {
  static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern QUEUE = Pattern.compile("[a-zA-Z0-9_.-]+");
  private final Problems problems;

  public Fields(Problems problems) {
    this.problems = problems;
  }

  Problems problems() {
    return problems;
  }

  public static boolean absent(YNode n) {
    return n == null || (n instanceof YNode.Scalar s && s.isNull());
  }

  /** Reports keys outside {@code allowed}, with a suggestion when one is close. */
  public void checkKeys(YNode.Mapping map, List<String> allowed) {
    checkKeys(map, allowed, false);
  }

  /** With {@code extensions}, keys starting with {@code x-} are free (a home for YAML anchors). */
  void checkKeys(YNode.Mapping map, List<String> allowed, boolean extensions) {
    for (YNode.Entry e : map.entries().values()) {
      String key = e.key().text();
      if (!allowed.contains(key) && !(extensions && key.startsWith("x-"))) {
        String hint = problems.suggest(key, allowed);
        if (hint.isEmpty()) {
          hint = " (expected one of: " + String.join(", ", allowed) + ")";
        }
        problems.add(e.key(), "unknown key '" + key + "'" + hint);
      }
    }
  }

  public YNode.Mapping map(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Mapping m) {
      return m;
    }
    problems.add(n, what + " must be a map, got " + n.describe());
    return null;
  }

  /**
   * Any non-empty scalar as text (a number where a string is expected is fine); maps and lists are
   * not.
   */
  public String string(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Scalar s) {
      return s.text();
    }
    problems.add(n, what + " must be a string, got " + n.describe());
    return null;
  }

  /** A string that must be present and not blank. */
  public String required(YNode.Mapping map, String key, String what) {
    YNode n = map.get(key);
    if (n == null) {
      problems.add(map, "missing required key '" + key + "'");
      return null;
    }
    if (absent(n)) {
      problems.add(map.keyNode(key), what + " must not be empty");
      return null;
    }
    String s = string(n, what);
    if (s != null && s.isBlank()) {
      problems.add(n, what + " must not be empty");
      return null;
    }
    return s;
  }

  Boolean bool(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Scalar s && s.value() instanceof Boolean b) {
      return b;
    }
    problems.add(n, what + " must be true or false, got " + n.describe());
    return null;
  }

  public Duration duration(YNode n, String what, boolean allowZero) {
    if (absent(n)) {
      return null;
    }
    Duration d =
        n instanceof YNode.Scalar s && s.value() instanceof String t
            ? Units.parseDuration(t)
            : null;
    if (d != null && (d.isNegative() || (!allowZero && d.isZero()))) {
      problems.add(n, what + " must be longer than zero, got " + n.describe());
      return null;
    }
    if (d == null) {
      problems.add(
          n, what + " must be a duration like 30s, 5m, 1h30m, 500ms or PT5M, got " + n.describe());
      return null;
    }
    return d;
  }

  Long size(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    Long bytes = null;
    if (n instanceof YNode.Scalar s) {
      if (s.value() instanceof Long l) {
        bytes = l;
      } else if (s.value() instanceof String t) {
        bytes = Units.parseSize(t);
      }
    }
    if (bytes == null || bytes <= 0) {
      problems.add(
          n,
          what + " must be a size like 512m, 2g, 1024k or a number of bytes, got " + n.describe());
      return null;
    }
    return bytes;
  }

  /** A whole number {@code >= 0}. */
  Integer count(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Scalar s
        && s.value() instanceof Long l
        && l >= 0
        && l <= Integer.MAX_VALUE) {
      return l.intValue();
    }
    problems.add(n, what + " must be a whole number >= 0, got " + n.describe());
    return null;
  }

  Double positiveNumber(YNode n, String what) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Scalar s && s.value() instanceof Number num) {
      double d = num.doubleValue();
      if (d > 0 && Double.isFinite(d)) {
        return d;
      }
    }
    problems.add(n, what + " must be a positive number, got " + n.describe());
    return null;
  }

  /**
   * A map of scalars to strings (numbers and booleans as written), e.g. {@code env}; an item that
   * is empty, a list or a map is an error. {@code eachKey} checks the keys.
   */
  Map<String, String> stringMap(
      YNode n, String what, String itemWhat, Consumer<YNode.Scalar> eachKey) {
    Map<String, String> out = new LinkedHashMap<>();
    YNode.Mapping m = map(n, what);
    if (m == null) {
      return out;
    }
    for (YNode.Entry e : m.entries().values()) {
      eachKey.accept(e.key());
      if (e.value() instanceof YNode.Scalar s && !s.isNull()) {
        out.put(e.key().text(), s.text());
      } else {
        problems.add(
            absent(e.value()) ? e.key() : e.value(),
            itemWhat
                + " '"
                + e.key().text()
                + "' must be a string, number or boolean, got "
                + e.value().describe());
      }
    }
    return out;
  }

  /** {@code retries: 2} or {@code retries: { max: 2, backoff: 5s }}. */
  RetryPolicy retries(YNode n) {
    if (absent(n)) {
      return null;
    }
    if (n instanceof YNode.Mapping m) {
      checkKeys(m, List.of("max", "backoff"));
      if (!m.has("max")) {
        problems.add(m, "missing required key 'max'");
      }
      Integer max = count(m.get("max"), "'max'");
      Duration backoff = duration(m.get("backoff"), "'backoff'", true);
      return max == null
          ? null
          : new RetryPolicy(max, backoff != null ? backoff : RetryPolicy.NONE.backoff());
    }
    if (n instanceof YNode.Scalar s
        && s.value() instanceof Long l
        && l >= 0
        && l <= Integer.MAX_VALUE) {
      return new RetryPolicy(l.intValue(), RetryPolicy.NONE.backoff());
    }
    problems.add(
        n,
        "'retries' must be a whole number >= 0 or a map like { max: 2, backoff: 5s }, got "
            + n.describe());
    return null;
  }

  /** {@code env}: variable names as the shell accepts them, values scalars. */
  Map<String, String> env(YNode n) {
    return stringMap(
        n,
        "'env'",
        "env",
        key -> {
          if (!ENV_NAME.matcher(key.text()).matches()) {
            problems.add(
                key,
                "invalid env name '"
                    + key.text()
                    + "': use letters, digits and '_', not starting with a digit");
          }
        });
  }

  /** A worker pool name, as {@code kiln worker --queue NAME} takes it. */
  String queue(YNode n) {
    String queue = literal(n, "'queue'");
    if (queue != null && !QUEUE.matcher(queue).matches()) {
      problems.add(n, "invalid queue name '" + queue + "': use letters, digits, '_', '-' and '.'");
      return null;
    }
    return queue;
  }

  /** A field the engine uses as written: a {@code ${{ }}} there would never be evaluated. */
  String literal(YNode n, String what) {
    String s = string(n, what);
    if (s != null && s.contains("${{")) {
      problems.add(n, "expressions are not evaluated in " + what + "; write the value itself");
    }
    return s;
  }

  /**
   * The node as immutable plain Java, for {@code with:} and param defaults: maps keep the file's
   * order; values are String, Long, BigInteger, Double, Boolean or null.
   */
  static Object plain(YNode n) {
    if (n instanceof YNode.Scalar s) {
      return s.value();
    }
    if (n instanceof YNode.Seq seq) {
      List<Object> out = new ArrayList<>(seq.items().size());
      for (YNode item : seq.items()) {
        out.add(plain(item));
      }
      return Collections.unmodifiableList(out);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (YNode.Entry e : ((YNode.Mapping) n).entries().values()) {
      out.put(e.key().text(), plain(e.value()));
    }
    return Collections.unmodifiableMap(out);
  }
}
