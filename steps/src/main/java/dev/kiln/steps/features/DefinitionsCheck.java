package dev.kiln.steps.features;

import dev.kiln.dsl.model.Location;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.dsl.parse.Problems;
import dev.kiln.dsl.parse.YNode;
import dev.kiln.steps.features.DefinitionsParser.Raw;
import dev.kiln.steps.features.DefinitionsParser.RawService;
import dev.kiln.steps.features.DefinitionsParser.RawView;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cross-reference checks of {@link DefinitionsParser}: views name known entities and sources,
 * services name known view features; problems go to the parser's list.
 */
final class DefinitionsCheck {
  private final List<Problem> problems;

  DefinitionsCheck(List<Problem> problems) {
    this.problems = problems;
  }

  /** Resolves the references between the definitions of every file. */
  Definitions resolve(
      Map<String, Raw<Definitions.Entity>> entities,
      Map<String, Raw<Definitions.Source>> sources,
      Map<String, Raw<RawView>> views,
      Map<String, Raw<RawService>> services) {
    Map<String, Definitions.View> vs = new LinkedHashMap<>();
    for (Raw<RawView> raw : views.values()) {
      RawView v = raw.value();
      List<String> keys = new ArrayList<>();
      List<String> ents = new ArrayList<>();
      for (YNode.Scalar e : v.entities()) {
        Raw<Definitions.Entity> ent = entities.get(e.text());
        if (ent == null) {
          add(
              e,
              "view '"
                  + v.name()
                  + "': unknown entity '"
                  + e.text()
                  + "'"
                  + hint(e.text(), entities.keySet()));
          continue;
        }
        ents.add(e.text());
        for (String k : ent.value().joinKeys()) {
          if (!keys.contains(k)) {
            keys.add(k);
          }
        }
      }
      Definitions.Source src = null;
      if (v.source() != null) {
        Raw<Definitions.Source> s = sources.get(v.source().text());
        if (s == null) {
          add(
              v.source(),
              "view '"
                  + v.name()
                  + "': unknown source '"
                  + v.source().text()
                  + "'"
                  + hint(v.source().text(), sources.keySet()));
        } else {
          src = s.value();
        }
      }
      for (Definitions.Feature feat : v.features()) {
        if (keys.contains(feat.name()) || (src != null && feat.name().equals(src.timestamp()))) {
          add(
              raw.at(),
              "view '"
                  + v.name()
                  + "': feature '"
                  + feat.name()
                  + "' is a join key or the event timestamp, not a feature");
        }
      }
      vs.put(
          v.name(),
          new Definitions.View(
              v.name(), ents, keys, src, v.ttl(), v.features(), v.transform(), raw.at()));
    }
    Map<String, Definitions.Service> ss = new LinkedHashMap<>();
    for (Raw<RawService> raw : services.values()) {
      List<Definitions.Ref> refs = new ArrayList<>();
      Set<String> columns = new LinkedHashSet<>();
      for (YNode.Scalar r : raw.value().refs()) {
        int colon = r.text().indexOf(':');
        if (colon <= 0 || colon == r.text().length() - 1) {
          add(r, "'" + r.text() + "' is not a feature reference: write view:feature");
          continue;
        }
        String view = r.text().substring(0, colon).strip();
        String feature = r.text().substring(colon + 1).strip();
        Definitions.View v = vs.get(view);
        if (v == null) {
          add(
              r,
              "service '"
                  + raw.value().name()
                  + "': unknown view '"
                  + view
                  + "'"
                  + hint(view, vs.keySet()));
          continue;
        }
        if (v.feature(feature) == null) {
          List<String> names = v.features().stream().map(Definitions.Feature::name).toList();
          add(
              r,
              "service '"
                  + raw.value().name()
                  + "': view '"
                  + view
                  + "' has no feature '"
                  + feature
                  + "'"
                  + hint(feature, names));
          continue;
        }
        Definitions.Ref ref = new Definitions.Ref(view, feature);
        if (!columns.add(ref.column())) {
          add(r, "service '" + raw.value().name() + "' lists '" + ref + "' twice");
          continue;
        }
        refs.add(ref);
      }
      ss.put(raw.value().name(), new Definitions.Service(raw.value().name(), refs, raw.at()));
    }
    Map<String, Definitions.Entity> es = new LinkedHashMap<>();
    entities.forEach((k, v) -> es.put(k, v.value()));
    Map<String, Definitions.Source> srcs = new LinkedHashMap<>();
    sources.forEach((k, v) -> srcs.put(k, v.value()));
    return new Definitions(es, srcs, vs, ss);
  }

  private static String hint(String wrong, Collection<String> candidates) {
    String best = new Problems("").suggest(wrong, candidates);
    if (!best.isEmpty()) {
      return best;
    }
    return candidates.isEmpty()
        ? " (none is defined)"
        : " (defined: " + String.join(", ", candidates) + ")";
  }

  private void add(YNode n, String message) {
    problems.add(new Problem(n.location(), message));
  }

  private void add(Location at, String message) {
    problems.add(new Problem(at, message));
  }
}
