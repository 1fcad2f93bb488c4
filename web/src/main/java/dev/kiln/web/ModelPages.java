package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.AliasEvent;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.camel.Exchange;

/**
 * Models: versions with their metrics side by side and a chart of one metric over versions, aliases
 * with their whole history, lineage, and promote/rollback with a reason (admins only).
 */
final class ModelPages {
  /** Versions shown in the lineage graph: the newest, each with its run and the data it read. */
  static final int LINEAGE_VERSIONS = 50;

  private final Engine engine;
  private final Views views;

  ModelPages(Engine engine, Views views) {
    this.engine = engine;
    this.views = views;
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/models", Role.VIEWER, this::list),
        route(GET, "/models/{name}", Role.VIEWER, this::show),
        route(POST, "/models/{name}/promote", Role.ADMIN, this::promote),
        route(POST, "/models/{name}/rollback", Role.ADMIN, this::rollback));
  }

  private Reply list(Exchange e) {
    List<Pages.ModelRow> rows = new ArrayList<>();
    for (Map.Entry<String, Integer> m : engine.models().models()) {
      rows.add(new Pages.ModelRow(m.getKey(), m.getValue(), engine.models().aliases(m.getKey())));
    }
    return views.page(
        200,
        "models.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Models", "models"),
        "rows",
        rows);
  }

  private Reply show(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    if (!engine.models().exists(name)) {
      throw new InvalidRequest(404, "no model '" + name + "'");
    }
    List<ModelVersion> versions = engine.models().versions(name);
    TreeSet<String> keys = new TreeSet<>();
    versions.forEach(v -> keys.addAll(v.metrics().keySet()));
    String metric = Req.param(e, "metric");
    if (metric == null || !keys.contains(metric)) {
      metric = keys.isEmpty() ? null : keys.first();
    }
    Map<String, Integer> aliases = engine.models().aliases(name);
    List<AliasEvent> history = new ArrayList<>();
    for (String alias : aliases.keySet()) {
      history.addAll(engine.models().history(name, alias));
    }
    history.sort(Comparator.comparing(AliasEvent::at).thenComparing(AliasEvent::id).reversed());
    // Chart: the chosen metric (and up to three others) over version numbers.
    List<Object> x = new ArrayList<>();
    List<Map<String, Object>> series = new ArrayList<>();
    List<String> shown = new ArrayList<>();
    if (metric != null) {
      shown.add(metric);
    }
    for (String k : keys) {
      if (shown.size() < 4 && !shown.contains(k)) {
        shown.add(k);
      }
    }
    List<ModelVersion> ascending =
        versions.stream().sorted(Comparator.comparingInt(ModelVersion::version)).toList();
    ascending.forEach(v -> x.add(v.version()));
    for (String k : shown) {
      List<Object> values = new ArrayList<>();
      ascending.forEach(v -> values.add(v.metrics().get(k)));
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("label", k);
      s.put("values", values);
      series.add(s);
    }
    Map<String, Object> chart = new LinkedHashMap<>();
    chart.put("time", false);
    chart.put("x", x);
    chart.put("series", series);
    return views.page(
        200,
        "model.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Model " + name, "models"),
        "v",
        new Pages.ModelView(
            name,
            versions,
            List.copyOf(keys),
            aliases,
            history,
            Pages.json(chart),
            metric == null ? "" : metric,
            lineage(name, versions)));
  }

  private String lineage(String name, List<ModelVersion> versions) {
    LineageGraph g = new LineageGraph();
    Map<Long, String> runs = new HashMap<>();
    versions.stream()
        .sorted(Comparator.comparingInt(ModelVersion::version).reversed())
        .limit(LINEAGE_VERSIONS)
        .forEach(
            v -> {
              String model = g.model(name, v.version());
              if (v.runId() == null) {
                return;
              }
              String run =
                  runs.computeIfAbsent(
                      v.runId(),
                      id -> {
                        String r = g.run(id, v.pipeline());
                        for (DatasetVersion d : engine.datasets().readsOf(id)) {
                          g.edge(g.dataset(d), r);
                        }
                        return r;
                      });
              g.edge(run, model);
            });
    return g.svg();
  }

  private Reply promote(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    String alias = required(e, "alias");
    String reason = required(e, "reason");
    int version;
    try {
      version = Integer.parseInt(required(e, "version").trim());
    } catch (NumberFormatException ex) {
      throw new InvalidRequest(400, "version must be a number");
    }
    try {
      engine.models().promote(name, version, alias, who(e), reason);
    } catch (RegistryException ex) {
      throw new InvalidRequest(400, ex.getMessage());
    }
    return Views.redirect("/models/" + Html.query(name) + "#history");
  }

  private Reply rollback(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    String alias = required(e, "alias");
    String reason = required(e, "reason");
    try {
      engine.models().rollback(name, alias, who(e), reason);
    } catch (RegistryException ex) {
      throw new InvalidRequest(400, ex.getMessage());
    }
    return Views.redirect("/models/" + Html.query(name) + "#history");
  }

  private static String who(Exchange e) {
    return "ui:" + SessionGuard.session(e).who().name();
  }

  private static String required(Exchange e, String field) throws InvalidRequest {
    String v = Req.param(e, field);
    if (v == null || v.isBlank()) {
      throw new InvalidRequest(400, "the form needs '" + field + "'");
    }
    return v.trim();
  }
}
