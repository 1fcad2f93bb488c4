package dev.kiln.steps.features;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.FeatureRegistry;
import dev.kiln.engine.registry.OnlineStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The feature store over one engine: applied definitions and what is computed from them. */
final class FeatureStore {
  private static final ObjectMapper CANONICAL =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private final Engine engine;
  private final FeatureRegistry registry;
  private final OnlineStore online;

  FeatureStore(Engine engine) {
    this.engine = engine;
    this.registry = new FeatureRegistry(engine.db());
    this.online = new OnlineStore(engine.db());
  }

  Engine engine() {
    return engine;
  }

  FeatureRegistry registry() {
    return registry;
  }

  OnlineStore online() {
    return online;
  }

  /** Stores every definition as a version keyed by its content hash, in one transaction. */
  List<FeatureRegistry.Applied> apply(Definitions d) {
    List<FeatureRegistry.NewDefinition> defs = new ArrayList<>();
    d.entities()
        .values()
        .forEach(e -> defs.add(def("entity", e.name(), Definitions.spec(e), e.at().file())));
    d.sources()
        .values()
        .forEach(s -> defs.add(def("source", s.name(), Definitions.spec(s), s.at().file())));
    Map<String, String> viewHashes = new LinkedHashMap<>();
    for (Definitions.View v : d.views().values()) {
      FeatureRegistry.NewDefinition nd = def("view", v.name(), Definitions.spec(v), v.at().file());
      viewHashes.put(v.name(), nd.sha256());
      defs.add(nd);
    }
    d.services()
        .values()
        .forEach(
            s ->
                defs.add(def("service", s.name(), Definitions.spec(s, viewHashes), s.at().file())));
    return registry.apply(defs);
  }

  private static FeatureRegistry.NewDefinition def(
      String kind, String name, Map<String, Object> spec, String file) {
    return new FeatureRegistry.NewDefinition(kind, name, sha256(spec), spec, file);
  }

  static String sha256(Map<String, Object> spec) {
    try {
      byte[] bytes = CANONICAL.writeValueAsString(spec).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash a feature definition", e);
    }
  }

  /** A service as applied: its version, its references and the views they read. */
  record Service(
      String name, int version, List<Definitions.Ref> refs, List<Definitions.View> views) {
    String ref() {
      return name + "@" + version;
    }
  }

  Service service(String name) throws FeatureException {
    FeatureRegistry.Definition s =
        registry
            .current("service", name)
            .orElseThrow(
                () ->
                    new FeatureException(
                        "no feature service '"
                            + name
                            + "' (see 'kiln features list'; 'kiln features apply DIR' adds one)"));
    List<Definitions.Ref> refs = Definitions.refs(s.spec());
    List<Definitions.View> views = new ArrayList<>();
    for (Definitions.Ref r : refs) {
      if (views.stream().noneMatch(v -> v.name().equals(r.view()))) {
        views.add(view(r.view()));
      }
    }
    return new Service(name, s.version(), refs, views);
  }

  Definitions.View view(String name) throws FeatureException {
    FeatureRegistry.Definition v =
        registry
            .current("view", name)
            .orElseThrow(
                () ->
                    new FeatureException(
                        "no feature view '" + name + "' (see 'kiln features list')"));
    return Definitions.view(name, v.spec());
  }

  /** Every applied view, by name. */
  List<Definitions.View> views() {
    List<Definitions.View> out = new ArrayList<>();
    for (FeatureRegistry.Definition d : registry.current()) {
      if (d.kind().equals("view")) {
        out.add(Definitions.view(d.name(), d.spec()));
      }
    }
    return out;
  }
}
