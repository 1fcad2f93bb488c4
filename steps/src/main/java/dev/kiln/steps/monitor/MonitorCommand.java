package dev.kiln.steps.monitor;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.MonitorStore;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln monitor history NAME}: the stored reports of a monitor as a trend. */
@Command(
    name = "monitor",
    mixinStandardHelpOptions = true,
    description = "Reports and incidents recorded by drift/check and metrics/check steps.",
    subcommands = {MonitorCommand.History.class, CommandLine.HelpCommand.class})
final class MonitorCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description = {
        "The monitor's reports, newest first: when, which run, whether it alarmed",
        "(drift or degradation), the share of drifted columns, and per column (or metric,",
        "or only --column) the statistic; then its incidents."
      })
  static final class History implements Callable<Integer> {
    private static final DateTimeFormatter TIME =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "the monitor's name")
    String name;

    @Option(names = "--column", paramLabel = "C", description = "only this column or metric")
    String column;

    @Option(
        names = "--limit",
        defaultValue = "20",
        description = "how many reports (default ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--json", description = "print reports and incidents as JSON")
    boolean json;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (limit < 1) {
        spec.commandLine().getErr().println("kiln: --limit must be at least 1, got " + limit);
        spec.commandLine().getErr().flush();
        return 2;
      }
      try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
        MonitorStore store = new MonitorStore(engine.db());
        List<MonitorStore.HistoryRow> rows = store.history(name, limit);
        List<MonitorStore.Incident> incidents = store.incidents(name);
        if (json) {
          out.println(Json.write(toMap(rows, incidents)));
        } else if (rows.isEmpty()) {
          out.println("no reports for monitor '" + name + "' yet");
        } else {
          print(out, rows, incidents);
        }
        out.flush();
        return 0;
      }
    }

    private List<MonitorStore.Value> values(MonitorStore.HistoryRow r) {
      return r.values().stream().filter(v -> column == null || v.name().equals(column)).toList();
    }

    private void print(
        PrintWriter out,
        List<MonitorStore.HistoryRow> rows,
        List<MonitorStore.Incident> incidents) {
      for (MonitorStore.HistoryRow r : rows) {
        out.printf(
            Locale.ROOT,
            "%s  run %-6s %-7s %-9s %s%n",
            TIME.format(r.at()),
            r.runId() == null ? "-" : r.runId(),
            r.kind(),
            r.alarm() ? (r.kind().equals("drift") ? "DRIFT" : "DEGRADED") : "ok",
            r.score() == null ? "" : String.format(Locale.ROOT, "share %.3f", r.score()));
        for (MonitorStore.Value v : values(r)) {
          out.printf(
              Locale.ROOT,
              "    %-28s %-14s %12s %12s %s%n",
              v.name(),
              v.method() == null ? "" : v.method(),
              fmt(v.statistic()),
              v.pValue() == null ? "" : "p=" + fmt(v.pValue()),
              v.alarm() ? "ALARM" : "");
        }
      }
      out.println();
      out.println(incidents.isEmpty() ? "no incidents" : "incidents:");
      for (MonitorStore.Incident i : incidents) {
        out.printf(
            Locale.ROOT,
            "  #%d %-7s %-6s opened %s by run %s, %d checks%s%n",
            i.id(),
            i.kind(),
            i.status(),
            TIME.format(i.openedAt()),
            i.openedByRun(),
            i.checks(),
            i.closedAt() == null ? "" : ", closed " + TIME.format(i.closedAt()));
      }
    }

    private Map<String, Object> toMap(
        List<MonitorStore.HistoryRow> rows, List<MonitorStore.Incident> incidents) {
      List<Map<String, Object>> reports = new ArrayList<>();
      for (MonitorStore.HistoryRow r : rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("report", r.reportId());
        m.put("at", r.at().toString());
        m.put("run_id", r.runId());
        m.put("kind", r.kind());
        m.put("alarm", r.alarm());
        m.put("score", r.score());
        List<Map<String, Object>> vs = new ArrayList<>();
        for (MonitorStore.Value v : values(r)) {
          Map<String, Object> vm = new LinkedHashMap<>();
          vm.put("name", v.name());
          vm.put("method", v.method());
          vm.put("statistic", finite(v.statistic()));
          vm.put("p_value", finite(v.pValue()));
          vm.put("threshold", v.threshold());
          vm.put("alarm", v.alarm());
          vs.add(vm);
        }
        m.put("values", vs);
        reports.add(m);
      }
      List<Map<String, Object>> inc = new ArrayList<>();
      for (MonitorStore.Incident i : incidents) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("kind", i.kind());
        m.put("status", i.status());
        m.put("opened_at", i.openedAt().toString());
        m.put("closed_at", i.closedAt() == null ? null : i.closedAt().toString());
        m.put("checks", i.checks());
        m.put("opened_by_run", i.openedByRun());
        inc.add(m);
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("monitor", name);
      m.put("reports", reports);
      m.put("incidents", inc);
      return m;
    }

    private static Double finite(Double d) {
      return d == null || d.isNaN() || d.isInfinite() ? null : d;
    }

    private static String fmt(Double d) {
      return d == null ? "-" : String.format(Locale.ROOT, "%.5g", d);
    }
  }
}
