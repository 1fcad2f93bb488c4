package dev.kiln.steps.features;

import dev.kiln.dsl.model.Location;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Validated feature definitions: what {@code kind: features} files declare, with every reference
 * resolved. A view carries its source and its join keys, so one view is enough to compute it; the
 * stored spec of a view is that resolved form, and its version changes when anything it reads
 * changes.
 */
record Definitions(
    Map<String, Entity> entities,
    Map<String, Source> sources,
    Map<String, View> views,
    Map<String, Service> services) {

  record Entity(String name, List<String> joinKeys, Location at) {}

  /**
   * A table of feature rows: files matching {@code path} (a glob, relative to {@code dir}) or a
   * version of a Kiln dataset ({@code NAME} for the latest, or {@code NAME@N}).
   */
  record Source(
      String name,
      String path,
      String dir,
      String dataset,
      String format,
      String timestamp,
      String created,
      Location at) {}

  record Feature(String name, FeatureType type) {}

  /** A view resolved: its entities' join keys and its source are part of it. */
  record View(
      String name,
      List<String> entities,
      List<String> joinKeys,
      Source source,
      Duration ttl,
      List<Feature> features,
      String transform,
      Location at) {

    Feature feature(String name) {
      for (Feature f : features) {
        if (f.name().equals(name)) {
          return f;
        }
      }
      return null;
    }
  }

  record Ref(String view, String feature) {
    String column() {
      return view + "__" + feature;
    }

    @Override
    public String toString() {
      return view + ":" + feature;
    }
  }

  record Service(String name, List<Ref> features, Location at) {}

  // The stored forms: plain maps, written as JSON by the registry and read back here.

  static Map<String, Object> spec(Entity e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("join_keys", e.joinKeys());
    return m;
  }

  static Map<String, Object> spec(Source s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", s.name());
    m.put("path", s.path());
    m.put("dir", s.dir());
    m.put("dataset", s.dataset());
    m.put("format", s.format());
    m.put("timestamp", s.timestamp());
    m.put("created", s.created());
    return m;
  }

  static Map<String, Object> spec(View v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("entities", v.entities());
    m.put("join_keys", v.joinKeys());
    m.put("source", spec(v.source()));
    m.put("ttl_seconds", v.ttl() == null ? null : v.ttl().toSeconds());
    List<Map<String, Object>> fs = new ArrayList<>();
    for (Feature f : v.features()) {
      fs.add(Map.of("name", f.name(), "type", f.type().label()));
    }
    m.put("features", fs);
    m.put("transform", v.transform());
    return m;
  }

  /** A service's spec names the sha256 of each view it reads, so it changes when they do. */
  static Map<String, Object> spec(Service s, Map<String, String> viewHashes) {
    Map<String, Object> m = new LinkedHashMap<>();
    List<Map<String, Object>> fs = new ArrayList<>();
    Map<String, Object> views = new LinkedHashMap<>();
    for (Ref r : s.features()) {
      fs.add(Map.of("view", r.view(), "feature", r.feature()));
      views.put(r.view(), viewHashes.get(r.view()));
    }
    m.put("features", fs);
    m.put("views", views);
    return m;
  }

  static View view(String name, Map<String, Object> spec) {
    Map<?, ?> src = (Map<?, ?>) spec.get("source");
    Source source =
        new Source(
            str(src.get("name")),
            str(src.get("path")),
            str(src.get("dir")),
            str(src.get("dataset")),
            str(src.get("format")),
            str(src.get("timestamp")),
            str(src.get("created")),
            Location.UNKNOWN);
    List<Feature> features = new ArrayList<>();
    for (Object o : (List<?>) spec.get("features")) {
      Map<?, ?> f = (Map<?, ?>) o;
      features.add(new Feature(str(f.get("name")), FeatureType.of(str(f.get("type")))));
    }
    Object ttl = spec.get("ttl_seconds");
    return new View(
        name,
        strings(spec.get("entities")),
        strings(spec.get("join_keys")),
        source,
        ttl instanceof Number n ? Duration.ofSeconds(n.longValue()) : null,
        features,
        str(spec.get("transform")),
        Location.UNKNOWN);
  }

  static List<Ref> refs(Map<String, Object> serviceSpec) {
    List<Ref> out = new ArrayList<>();
    for (Object o : (List<?>) serviceSpec.get("features")) {
      Map<?, ?> m = (Map<?, ?>) o;
      out.add(new Ref(str(m.get("view")), str(m.get("feature"))));
    }
    return out;
  }

  private static String str(Object o) {
    return o == null ? null : String.valueOf(o);
  }

  private static List<String> strings(Object o) {
    List<String> out = new ArrayList<>();
    if (o instanceof List<?> l) {
      l.forEach(x -> out.add(String.valueOf(x)));
    }
    return out;
  }
}
