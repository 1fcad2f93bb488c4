package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.route;
import static dev.kiln.engine.server.RunsApi.time;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/** Data sets (versions, schema) and monitoring (monitors, drift reports, incidents) over HTTP. */
final class DataApi {
  private final Engine engine;
  private final MonitorStore monitors;

  DataApi(Engine engine) {
    this.engine = engine;
    this.monitors = engine == null ? null : new MonitorStore(engine.db());
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/api/datasets", Role.VIEWER, this::datasets),
        route(GET, "/api/datasets/{name}", Role.VIEWER, this::dataset),
        route(GET, "/api/datasets/{name}/versions/{version}", Role.VIEWER, this::datasetVersion),
        route(GET, "/api/monitors", Role.VIEWER, this::monitors),
        route(GET, "/api/monitors/{name}/reports", Role.VIEWER, this::reports),
        route(GET, "/api/monitors/{name}/incidents", Role.VIEWER, this::incidents),
        route(GET, "/api/drift/reports/{id}", Role.VIEWER, this::report));
  }

  static Map<String, Object> dataset(DatasetVersion d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", d.name());
    m.put("version", d.version());
    m.put("sha256", d.sha256());
    m.put("size", d.size());
    m.put("kind", d.kind());
    m.put("rows", d.rows());
    m.put(
        "schema",
        d.schema().stream().map(c -> Map.of("name", c.name(), "type", c.type())).toList());
    m.put("source", d.sourcePath());
    m.put("run_id", d.runId());
    m.put("step", d.stepId());
    m.put("created_at", time(d.createdAt()));
    return m;
  }

  private Reply datasets(Exchange e) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (var en : engine.datasets().latest()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", en.getKey().name());
      m.put("versions", en.getValue());
      m.put("latest", dataset(en.getKey()));
      out.add(m);
    }
    return new Reply(200, Map.of("datasets", out));
  }

  private Reply dataset(Exchange e) throws InvalidRequest {
    String name = Request.of(e).path("name");
    List<DatasetVersion> versions = engine.datasets().versions(name);
    if (versions.isEmpty()) {
      throw new InvalidRequest(404, "no dataset '" + name + "'");
    }
    return new Reply(
        200, Map.of("name", name, "versions", versions.stream().map(DataApi::dataset).toList()));
  }

  private Reply datasetVersion(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    String name = r.path("name");
    long v = r.pathLong("version");
    DatasetVersion d =
        engine
            .datasets()
            .get(name, (int) Math.min(v, Integer.MAX_VALUE))
            .orElseThrow(() -> new InvalidRequest(404, "no dataset '" + name + "' version " + v));
    return new Reply(200, dataset(d));
  }

  private Reply monitors(Exchange e) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (MonitorStore.Monitor m : monitors.monitors()) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("name", m.monitor());
      one.put("kind", m.kind());
      one.put("reports", m.reports());
      one.put("last_at", time(m.lastAt()));
      one.put("alarm", m.alarm());
      one.put("score", m.score());
      one.put("incident_open", m.incidentOpen());
      out.add(one);
    }
    return new Reply(200, Map.of("monitors", out));
  }

  private String monitor(Request r) throws InvalidRequest {
    String name = r.path("name");
    if (monitors.history(name, 1).isEmpty()) {
      throw new InvalidRequest(404, "no monitor '" + name + "' (it has made no report)");
    }
    return name;
  }

  /** The newest reports first ({@code ?limit=}), each with its per-column values. */
  private Reply reports(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    int limit = r.queryInt("limit", 50, 1, RunsApi.MAX_LIMIT);
    String name = monitor(r);
    List<Map<String, Object>> out = new ArrayList<>();
    for (MonitorStore.HistoryRow h : monitors.history(name, limit)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", h.reportId());
      m.put("at", time(h.at()));
      m.put("run_id", h.runId());
      m.put("kind", h.kind());
      m.put("alarm", h.alarm());
      m.put("score", h.score());
      List<Map<String, Object>> values = new ArrayList<>();
      for (MonitorStore.Value v : h.values()) {
        Map<String, Object> vm = new LinkedHashMap<>();
        vm.put("name", v.name());
        vm.put("method", v.method());
        vm.put("statistic", v.statistic());
        vm.put("p_value", v.pValue());
        vm.put("threshold", v.threshold());
        vm.put("alarm", v.alarm());
        values.add(vm);
      }
      m.put("values", values);
      out.add(m);
    }
    return new Reply(200, Map.of("monitor", name, "reports", out));
  }

  private Reply incidents(Exchange e) throws InvalidRequest {
    String name = monitor(Request.of(e));
    List<Map<String, Object>> out = new ArrayList<>();
    for (MonitorStore.Incident i : monitors.incidents(name)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", i.id());
      m.put("kind", i.kind());
      m.put("status", i.status());
      m.put("opened_at", time(i.openedAt()));
      m.put("closed_at", time(i.closedAt()));
      m.put("checks", i.checks());
      m.put("opened_by_run", i.openedByRun());
      out.add(m);
    }
    return new Reply(200, Map.of("monitor", name, "incidents", out));
  }

  private Reply report(Exchange e) throws InvalidRequest {
    long id = Request.of(e).pathLong("id");
    MonitorStore.Report rep =
        monitors.report(id).orElseThrow(() -> new InvalidRequest(404, "no report " + id));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", rep.id());
    m.put("monitor", rep.monitor());
    m.put("kind", rep.kind());
    m.put("run_id", rep.runId());
    m.put("step", rep.stepId());
    m.put("alarm", rep.alarm());
    m.put("score", rep.score());
    m.put("at", time(rep.at()));
    m.put("report", rep.report());
    return new Reply(200, m);
  }
}
