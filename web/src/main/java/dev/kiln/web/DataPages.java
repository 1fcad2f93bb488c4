package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetUsage;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.MonitorViews;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.camel.Exchange;

/** Datasets (versions, schema, rows, who used them) and the monitoring dashboard. */
final class DataPages {
  static final int HISTORY = 200;
  private final Engine engine;
  private final Views views;
  private final DatasetUsage usage;
  private final MonitorStore monitors;
  private final MonitorViews monitorViews;

  DataPages(Engine engine, Views views) {
    this.engine = engine;
    this.views = views;
    this.usage = new DatasetUsage(engine.db());
    this.monitors = new MonitorStore(engine.db());
    this.monitorViews = new MonitorViews(engine.db());
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/datasets", Role.VIEWER, this::datasets),
        route(GET, "/datasets/{name}", Role.VIEWER, this::dataset),
        route(GET, "/monitoring", Role.VIEWER, this::monitoring),
        route(GET, "/monitoring/{monitor}", Role.VIEWER, this::monitor),
        route(GET, "/monitoring/{monitor}/reports/{id}", Role.VIEWER, this::report));
  }

  private Reply datasets(Exchange e) {
    List<Pages.DatasetRow> rows = new ArrayList<>();
    for (Map.Entry<DatasetVersion, Integer> d : engine.datasets().latest()) {
      rows.add(new Pages.DatasetRow(d.getKey(), d.getValue()));
    }
    return views.page(
        200,
        "datasets.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Datasets", "datasets"),
        "rows",
        rows);
  }

  private Reply dataset(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    List<DatasetVersion> versions = engine.datasets().versions(name);
    if (versions.isEmpty()) {
      throw new InvalidRequest(404, "no dataset '" + name + "'");
    }
    Long wanted = Req.longParam(e, "version");
    DatasetVersion selected = versions.get(versions.size() - 1);
    for (DatasetVersion v : versions) {
      if (wanted != null && v.version() == wanted) {
        selected = v;
      }
      if (wanted == null && v.version() > selected.version()) {
        selected = v;
      }
    }
    List<DatasetUsage.Read> reads = usage.reads(name, selected.version(), 100);
    List<DatasetUsage.Model> models = usage.models(name, selected.version());
    return views.page(
        200,
        "dataset.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Dataset " + name, "datasets"),
        "v",
        new Pages.DatasetView(
            name, versions, selected, reads, models, lineage(selected, reads, models)));
  }

  /** The selected version -> the runs that read it -> the model versions those runs made. */
  private static String lineage(
      DatasetVersion d, List<DatasetUsage.Read> reads, List<DatasetUsage.Model> models) {
    LineageGraph g = new LineageGraph();
    String data = g.dataset(d);
    for (DatasetUsage.Read r : reads) {
      g.edge(data, g.run(r.runId(), r.pipeline()));
    }
    for (DatasetUsage.Model m : models) {
      g.edge(g.run(m.runId(), null), g.model(m.name(), m.version()));
    }
    return g.svg();
  }

  private Reply monitoring(Exchange e) {
    return views.page(
        200,
        "monitoring.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Monitoring", "monitoring"),
        "v",
        new Pages.MonitorList(monitorViews.monitors()));
  }

  private Reply monitor(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "monitor");
    List<MonitorStore.HistoryRow> history = monitors.history(name, HISTORY);
    if (history.isEmpty()) {
      throw new InvalidRequest(404, "no monitor '" + name + "'");
    }
    // Oldest first for the chart: the drift share and each column's statistic over time.
    List<MonitorStore.HistoryRow> ascending = new ArrayList<>(history);
    Collections.reverse(ascending);
    TreeSet<String> columns = new TreeSet<>();
    ascending.forEach(r -> r.values().forEach(v -> columns.add(v.name())));
    List<Object> x = new ArrayList<>();
    List<Object> share = new ArrayList<>();
    Map<String, List<Object>> perColumn = new LinkedHashMap<>();
    List<String> shown = columns.stream().limit(5).toList();
    shown.forEach(c -> perColumn.put(c, new ArrayList<>()));
    for (MonitorStore.HistoryRow r : ascending) {
      x.add(r.at().toEpochMilli() / 1000.0);
      share.add(r.score());
      for (String c : shown) {
        Double stat = null;
        for (MonitorStore.Value v : r.values()) {
          if (v.name().equals(c)) {
            stat = v.statistic();
          }
        }
        perColumn.get(c).add(stat);
      }
    }
    // A metrics monitor (late labels) has no drift share: its chart is the metrics themselves.
    boolean performance = "metrics".equals(history.get(0).kind());
    List<Map<String, Object>> series = new ArrayList<>();
    if (performance) {
      perColumn.forEach((c, vals) -> series.add(Map.of("label", c, "values", vals)));
    } else {
      series.add(Map.of("label", "drift share", "values", share));
    }
    Map<String, Object> chart = new LinkedHashMap<>();
    chart.put("x", x);
    chart.put("series", series);
    List<Map<String, Object>> colSeries = new ArrayList<>();
    perColumn.forEach((c, vals) -> colSeries.add(Map.of("label", c, "values", vals)));
    Map<String, Object> columnsChart = new LinkedHashMap<>();
    columnsChart.put("x", x);
    columnsChart.put("series", colSeries);
    Long withHtml = null;
    for (MonitorStore.HistoryRow r : history) {
      if (withHtml == null && monitorViews.reportHtml(name, r.reportId()).isPresent()) {
        withHtml = r.reportId();
      }
      if (withHtml != null) {
        break;
      }
    }
    return views.page(
        200,
        "monitor.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Monitor " + name, "monitoring"),
        "v",
        new Pages.MonitorView(
            name,
            history,
            monitors.incidents(name),
            Pages.json(chart),
            withHtml,
            history.get(0).values(),
            performance,
            monitorViews.alerts(name, HISTORY)),
        "columnsChart",
        Pages.json(columnsChart));
  }

  /**
   * A drift check's HTML report, for the dashboard's sandboxed frame: served with a CSP that allows
   * no script and no outside request, so whatever the report holds stays inert.
   */
  private Reply report(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "monitor");
    long id = Req.id(e, "id", "report");
    String sha =
        monitorViews
            .reportHtml(name, id)
            .orElseThrow(() -> new InvalidRequest(404, "no HTML report " + id + " of " + name));
    Path file = engine.artifacts().path(sha);
    if (!Files.isRegularFile(file)) {
      throw new InvalidRequest(404, "the HTML report " + id + " is gone from the artifact store");
    }
    return Reply.of(
        200,
        x -> {
          x.getMessage().setHeader("Content-Type", "text/html; charset=utf-8");
          x.getMessage()
              .setHeader(
                  "Content-Security-Policy",
                  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
                      + " frame-ancestors 'self'");
          x.getMessage().setHeader("X-Content-Type-Options", "nosniff");
          InputStream in = Files.newInputStream(file);
          x.getMessage().setBody(in);
        });
  }
}
