package dev.kiln.steps.drift;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.serve.LiveTraffic;
import dev.kiln.steps.table.DataException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code uses: drift/check}: compares {@code current} with {@code reference}, stores the report
 * under the monitor's name and moves its incident. Drift does not fail the step (unless {@code
 * fail_on_drift: true}); later steps read {@code drifted} or {@code incident_opened}.
 */
public final class DriftCheckStep implements BuiltinStep {
  @Override
  public String name() {
    return "drift/check";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "drift/check",
        "Compares a current data file with a reference, per column, and records a monitor report.",
        List.of(
            WithKey.required("reference", Type.PATH, "the reference CSV or Parquet file"),
            WithKey.optional(
                "current", Type.PATH, "the current CSV or Parquet file (or give live)"),
            WithKey.optional(
                "live",
                Type.STRING,
                "NAME@ALIAS: the current data is the live inputs of that deployment"),
            WithKey.optional(
                "since",
                Type.STRING,
                "with live: from when (ISO time, or back from now: 30m, 24h, 7d; default all)"),
            WithKey.optional("method", Type.STRING, "auto, psi, ks or chi2 (default auto)"),
            WithKey.optional("columns", Type.LIST, "only these columns"),
            WithKey.optional("bins", Type.INTEGER, "histogram bins for PSI"),
            WithKey.optional(
                "threshold", Type.NUMBER, "the per-column drift threshold of the method"),
            WithKey.optional(
                "drift_share",
                Type.NUMBER,
                "the share of drifted columns that makes the data drifted"),
            WithKey.optional(
                "fail_on_drift", Type.BOOLEAN, "fail the step when drifted (default false)"),
            WithKey.optional(
                "monitor",
                Type.STRING,
                "the monitor the report is recorded under (default: the pipeline name)")),
        Outputs.of(
            "drifted",
            "true or false",
            "share_drifted",
            "the share of drifted columns",
            "report",
            "the stored report id",
            "monitor",
            "the monitor name",
            "incident",
            "the open incident id, or empty",
            "incident_opened",
            "true when this report opened it",
            "incident_closed",
            "true when this report closed it"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With w = new With(name(), ctx.with(), ctx.paths());
    DriftOptions options;
    Path refPath;
    Path curPath;
    boolean failOnDrift;
    try {
      refPath = w.path("reference");
      if (w.has("live") == w.has("current")) {
        throw w.bad("current", "give either current (a file) or live (NAME@ALIAS)");
      }
      if (w.has("live")) {
        LiveTraffic.Window live = LiveTraffic.window(w);
        curPath = ctx.workDir().resolve("live-inputs.csv");
        if (LiveTraffic.inputs(ctx.engine().db(), live, curPath) == 0) {
          return Completion.failed(name() + ": " + live.empty());
        }
      } else {
        curPath = w.path("current");
      }
      failOnDrift = w.bool("fail_on_drift", false);
      try {
        options =
            new DriftOptions(
                Method.parse(w.string("method", "auto")),
                w.list("columns"),
                w.integer("bins", DriftOptions.DEFAULT_BINS),
                w.number("threshold", null),
                w.number("drift_share", DriftOptions.DEFAULT_DRIFT_SHARE));
      } catch (IllegalArgumentException e) {
        return Completion.failed(name() + ": " + e.getMessage());
      }
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
    DriftReport report;
    try {
      report = DriftAnalyzer.compare(refPath, curPath, options);
    } catch (DataException e) {
      return Completion.failed(name() + ": " + e.getMessage());
    }
    String monitor =
        w.string("monitor", ctx.engine().store().run(ctx.task().runId()).orElseThrow().pipeline());
    List<MonitorStore.Value> values = new ArrayList<>();
    for (ColumnDrift c : report.columns()) {
      if (c.error() == null) {
        values.add(
            new MonitorStore.Value(
                c.column(), c.method(), c.statistic(), c.pValue(), c.threshold(), c.drifted()));
      }
      ctx.logs()
          .line(
              "system",
              c.column()
                  + ": "
                  + (c.error() != null
                      ? c.error()
                      : c.method()
                          + " "
                          + c.statistic()
                          + (c.pValue() == null ? "" : " p=" + c.pValue())
                          + (c.drifted() ? " DRIFT" : "")));
    }
    // The artifact first: once the report is recorded the incident has moved, and a retry of
    // this step would no longer see it open.
    Path html = ctx.workDir().resolve("drift-report.html");
    Files.writeString(html, DriftHtml.render(report), StandardCharsets.UTF_8);
    ArtifactStore.Stored stored = ctx.engine().artifacts().put(html);
    MonitorStore.Recorded rec =
        new MonitorStore(ctx.engine().db())
            .record(
                new MonitorStore.Check(
                    monitor,
                    "drift",
                    ctx.task().runId(),
                    ctx.task().stepId(),
                    report.drifted(),
                    report.shareDrifted(),
                    report.toMap(),
                    values));

    Map<String, String> out = new LinkedHashMap<>();
    out.put("drifted", String.valueOf(report.drifted()));
    out.put("share_drifted", String.valueOf(report.shareDrifted()));
    out.put(
        "drifted_columns",
        String.join(
            ",",
            report.columns().stream()
                .filter(ColumnDrift::drifted)
                .map(ColumnDrift::column)
                .toList()));
    out.put("report", String.valueOf(rec.reportId()));
    out.put("monitor", monitor);
    out.put("incident", rec.incidentId() == null ? "" : String.valueOf(rec.incidentId()));
    out.put("incident_opened", String.valueOf(rec.transition() == MonitorStore.Transition.OPENED));
    out.put("incident_closed", String.valueOf(rec.transition() == MonitorStore.Transition.CLOSED));
    ctx.logs()
        .line(
            "system",
            String.format(
                "%s: %d of %d columns drifted, incident %s",
                report.drifted() ? "drift" : "no drift",
                report.driftedColumns(),
                report.checkedColumns(),
                rec.transition().name().toLowerCase(Locale.ROOT)));
    boolean fail = failOnDrift && report.drifted();
    return new Completion(
        fail ? Completion.Outcome.FAILED : Completion.Outcome.SUCCEEDED,
        null,
        fail
            ? name()
                + ": "
                + report.driftedColumns()
                + " of "
                + report.checkedColumns()
                + " columns drifted"
            : null,
        out,
        List.of(new Completion.Metric("share_drifted", report.shareDrifted())),
        List.of(new Completion.Artifact("report", stored.sha256(), stored.size(), stored.kind())));
  }
}
