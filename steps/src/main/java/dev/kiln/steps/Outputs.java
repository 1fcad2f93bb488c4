package dev.kiln.steps;

import java.util.LinkedHashMap;
import java.util.Map;

/** A built-in's declared outputs, in the order given: name, description, name, description... */
public final class Outputs {
  private Outputs() {}

  public static Map<String, String> of(String... nameThenDescription) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i + 1 < nameThenDescription.length; i += 2) {
      out.put(nameThenDescription[i], nameThenDescription[i + 1]);
    }
    return out;
  }
}
