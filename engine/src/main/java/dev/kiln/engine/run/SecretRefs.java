package dev.kiln.engine.run;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.kiln.engine.store.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the worker fills in secrets, and which values it masks. The planner writes it as JSON into
 * a task's env under {@link #ENV_KEY}; it holds secret names and the literal text around them,
 * never a secret's value. Being structure the planner writes, not text it scans, a param or output
 * whose value reads {@code ${{ secrets.X }}} is never resolved: it is just text.
 *
 * @param env environment variable -> its value as parts: literal text (a String) or a secret
 *     ({@code {"secret": NAME}}); {@code KILN_EXPR_n} of a {@code run:} command are among them
 * @param with JSON pointer into the step's {@code with} -> its string value as parts
 * @param mask values of the run's {@code secret: true} params, masked in what the step writes
 */
public record SecretRefs(
    Map<String, List<Object>> env, Map<String, List<Object>> with, List<String> mask) {

  /** The env key the planner writes this under; the worker removes it before the step runs. */
  public static final String ENV_KEY = "KILN_SECRET_REFS";

  /** The worker's environment variable that holds the secret {@code NAME}. */
  public static String variable(String name) {
    return "KILN_SECRET_" + name;
  }

  public static SecretRefs empty() {
    return new SecretRefs(new LinkedHashMap<>(), new LinkedHashMap<>(), new ArrayList<>());
  }

  public boolean isEmpty() {
    return env.isEmpty() && with.isEmpty() && mask.isEmpty();
  }

  /** A part that stands for the secret {@code name}. */
  static Map<String, String> secret(String name) {
    return Map.of("secret", name);
  }

  /** The secret's name when {@code part} stands for one, else null (literal text). */
  public static String secretName(Object part) {
    return part instanceof Map<?, ?> m && m.get("secret") instanceof String s ? s : null;
  }

  public String toJson() {
    return Json.write(this);
  }

  /** The refs of a task's env, or empty ones when the planner wrote none. */
  public static SecretRefs of(Map<String, String> env) {
    String json = env.get(ENV_KEY);
    if (json == null) {
      return empty();
    }
    try {
      return Json.MAPPER.readValue(json, new TypeReference<SecretRefs>() {});
    } catch (Exception e) {
      throw new IllegalArgumentException("bad " + ENV_KEY + " in a task spec: " + e.getMessage());
    }
  }
}
