package dev.kiln.steps.serve;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a served model is, as written beside its artifact in an image ({@code kiln-model.json}): the
 * registry's name and version, the flavour, the artifact's sha256 (checked when the server starts)
 * and file name, the signature and the lineage.
 */
record ModelInfo(
    String name,
    int version,
    String flavour,
    String sha256,
    String artifact,
    Signature signature,
    Map<String, Object> lineage) {
  static final String FILE = "kiln-model.json";

  String ref() {
    return name + "@" + version;
  }

  Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("version", version);
    m.put("flavour", flavour);
    m.put("sha256", sha256);
    m.put("artifact", artifact);
    m.put("signature", signature.toJson());
    m.put("lineage", lineage);
    return m;
  }

  @SuppressWarnings("unchecked")
  static ModelInfo fromJson(Map<String, Object> m) {
    return new ModelInfo(
        (String) m.get("name"),
        ((Number) m.get("version")).intValue(),
        (String) m.get("flavour"),
        (String) m.get("sha256"),
        (String) m.get("artifact"),
        Signature.fromJson((List<?>) m.get("signature")),
        (Map<String, Object>) m.getOrDefault("lineage", Map.of()));
  }
}
