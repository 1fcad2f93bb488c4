package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.ParamType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Binds {@code params:} — name, type, default (converted to the type), description, secret. */
final class ParamBinder {
  static final List<String> KEYS = List.of("type", "default", "description", "secret");
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  private ParamBinder() {}

  static Map<String, ParamSpec> bind(YNode n, Fields f) {
    Map<String, ParamSpec> out = new LinkedHashMap<>();
    YNode.Mapping m = f.map(n, "'params'");
    if (m == null) {
      return out;
    }
    Problems problems = f.problems();
    List<String> typeNames = new ArrayList<>();
    for (ParamType t : ParamType.values()) {
      typeNames.add(t.yamlName());
    }
    for (YNode.Entry e : m.entries().values()) {
      String name = e.key().text();
      if (!NAME.matcher(name).matches()) {
        problems.add(
            e.key(),
            "invalid param name '"
                + name
                + "': use letters, digits and '_', not starting with a digit");
      }
      if (!(e.value() instanceof YNode.Mapping spec)) {
        problems.add(
            Fields.absent(e.value()) ? e.key() : e.value(),
            "param '"
                + name
                + "' must be a map like { type: string, default: ... }, got "
                + e.value().describe());
        continue;
      }
      f.checkKeys(spec, KEYS);
      ParamType type = ParamType.STRING;
      String typeName = f.string(spec.get("type"), "'type'");
      if (typeName != null) {
        if (typeNames.contains(typeName)) {
          type = ParamType.valueOf(typeName.toUpperCase(Locale.ROOT));
        } else {
          String hint = problems.suggest(typeName, typeNames);
          problems.add(
              spec.get("type"),
              "unknown param type '"
                  + typeName
                  + "'"
                  + (hint.isEmpty() ? ": use " + String.join(", ", typeNames) : hint));
          type = null;
        }
      }
      Object defaultValue = null;
      YNode def = spec.get("default");
      if (type != null && !Fields.absent(def)) {
        defaultValue =
            Params.convert(type, def instanceof YNode.Scalar s ? s.value() : Fields.plain(def));
        if (defaultValue == null) {
          ParamSpec probe = new ParamSpec(name, type, null, null, e.key().location());
          problems.add(
              def,
              Params.mismatch(probe, def instanceof YNode.Scalar s ? s.text() : Fields.plain(def))
                  .replace("expected", "default must be"));
        }
      }
      String description = f.string(spec.get("description"), "'description'");
      boolean secret = Boolean.TRUE.equals(f.bool(spec.get("secret"), "'secret'"));
      // A param with an unknown type is still declared, so its uses are not reported as well.
      out.put(
          name,
          new ParamSpec(
              name,
              type != null ? type : ParamType.STRING,
              defaultValue,
              description,
              e.key().location(),
              secret));
    }
    return Collections.unmodifiableMap(out);
  }
}
