package dev.kiln.steps.monitor;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.serve.LiveTraffic;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code uses: metrics/check}: scores {@code predictions} against {@code labels} joined on {@code
 * id}, and reports {@code degraded} when a metric is worse than its reference value by more than
 * {@code tolerance}. Records the report and moves the monitor's incident.
 */
public final class MetricsCheckStep implements BuiltinStep {
  static final double DEFAULT_TOLERANCE = 0.05;

  @Override
  public String name() {
    return "metrics/check";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "metrics/check",
        "Scores logged predictions against late labels and compares the metrics with the registered ones of the model.",
        List.of(
            WithKey.optional(
                "predictions", Type.PATH, "the predictions CSV or Parquet file (or give live)"),
            WithKey.optional(
                "live",
                Type.STRING,
                "NAME@ALIAS: the predictions are that deployment's live ones (columns id,"
                    + " prediction, score); model and alias default to it"),
            WithKey.optional(
                "since",
                Type.STRING,
                "with live: from when (ISO time, or back from now: 30m, 24h, 7d; default all)"),
            WithKey.required("labels", Type.PATH, "the labels CSV or Parquet file"),
            WithKey.optional("id", Type.STRING, "the join column (default id)"),
            WithKey.optional(
                "prediction", Type.STRING, "the prediction column (default prediction)"),
            WithKey.optional("label", Type.STRING, "the label column (default label)"),
            WithKey.optional("score", Type.STRING, "a score column, for roc_auc"),
            WithKey.optional("positive", Type.STRING, "the positive class (default 1)"),
            WithKey.optional(
                "task", Type.STRING, "classification or regression (default classification)"),
            WithKey.optional(
                "tolerance", Type.NUMBER, "how much worse than the reference counts as degraded"),
            WithKey.optional(
                "model",
                Type.STRING,
                "the registered model whose metrics (of the version under alias) are the"
                    + " reference where with.reference gives none"),
            WithKey.optional("alias", Type.STRING, "its alias (default production)"),
            WithKey.optional(
                "reference", Type.MAP, "reference metrics given directly: NAME: VALUE"),
            WithKey.optional(
                "monitor",
                Type.STRING,
                "the monitor the report is recorded under (default: the pipeline name)")),
        Outputs.of(
            "degraded",
            "true or false",
            "degraded_metrics",
            "the worse metrics, comma-separated",
            "matched",
            "predictions with a label",
            "unlabeled",
            "predictions without one",
            "report",
            "the stored report id",
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
    PerformanceMetrics.Scored scored;
    Map<String, Double> given = new LinkedHashMap<>();
    double tolerance;
    String task;
    String model;
    String alias;
    try {
      if (w.has("live") == w.has("predictions")) {
        throw w.bad("predictions", "give either predictions (a file) or live (NAME@ALIAS)");
      }
      Path predictions;
      String liveScore = null;
      model = w.string("model", null);
      alias = w.string("alias", "production");
      if (w.has("live")) {
        LiveTraffic.Window live = LiveTraffic.window(w);
        predictions = ctx.workDir().resolve("live-predictions.csv");
        String positive = w.string("positive", null);
        if (LiveTraffic.predictions(ctx.engine().db(), live, positive, predictions) == 0) {
          return Completion.failed(name() + ": " + live.empty());
        }
        liveScore = positive == null ? null : "score";
        model = w.string("model", live.ref().name());
        alias = w.string("alias", live.ref().alias());
      } else {
        predictions = w.path("predictions");
      }
      var labels = w.path("labels");
      String id = w.string("id", "id");
      String pred = w.string("prediction", "prediction");
      String label = w.string("label", "label");
      task = w.string("task", "classification").toLowerCase(Locale.ROOT);
      tolerance = w.number("tolerance", DEFAULT_TOLERANCE);
      for (var e : w.map("reference").entrySet()) {
        try {
          given.put(e.getKey(), Double.parseDouble(String.valueOf(e.getValue())));
        } catch (NumberFormatException ex) {
          throw w.bad("reference." + e.getKey(), "'" + e.getValue() + "' is not a number");
        }
      }
      if (!task.equals("classification") && !task.equals("regression")) {
        throw w.bad("task", "'" + task + "' is neither classification nor regression");
      }
      try (Table d = Table.open(predictions)) {
        var labelCols = d.load(labels, "labels");
        require(w, d.column(id).isPresent(), "id", predictions, id);
        require(w, labelCols.stream().anyMatch(c -> c.name().equals(id)), "id", labels, id);
        require(w, d.column(pred).isPresent(), "prediction", predictions, pred);
        require(
            w, labelCols.stream().anyMatch(c -> c.name().equals(label)), "label", labels, label);
        if (task.equals("classification")) {
          String score = w.string("score", liveScore);
          if (score != null) {
            require(w, d.column(score).isPresent(), "score", predictions, score);
          }
          scored =
              PerformanceMetrics.classification(
                  d, id, pred, label, score, w.string("positive", "1"));
        } else {
          scored = PerformanceMetrics.regression(d, id, pred, label);
        }
      }
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (DataException e) {
      return Completion.failed(name() + ": " + e.getMessage());
    }
    ReferenceMetrics refs = ReferenceMetrics.lookup(given, ctx.engine().models());
    List<MonitorStore.Value> values = new ArrayList<>();
    List<String> worse = new ArrayList<>();
    Map<String, String> out = new LinkedHashMap<>();
    List<Completion.Metric> metrics = new ArrayList<>();
    for (var e : scored.metrics().entrySet()) {
      String metric = e.getKey();
      double v = e.getValue();
      out.put(metric, String.valueOf(v));
      if (!Double.isNaN(v)) {
        metrics.add(new Completion.Metric(metric, v));
      }
      Optional<Double> ref = refs.value(model, alias, metric);
      boolean lower = PerformanceMetrics.LOWER_IS_BETTER.contains(metric);
      Double bound = ref.map(r -> lower ? r + tolerance : r - tolerance).orElse(null);
      boolean bad = bound != null && !Double.isNaN(v) && (lower ? v > bound : v < bound);
      if (bad) {
        worse.add(metric);
      }
      values.add(
          new MonitorStore.Value(
              metric,
              ref.map(r -> "reference " + r).orElse(null),
              Double.isNaN(v) ? null : v,
              null,
              bound,
              bad));
      ctx.logs()
          .line(
              "system",
              String.format(
                  Locale.ROOT,
                  "%s = %.6g%s%s",
                  metric,
                  v,
                  ref.map(r -> String.format(Locale.ROOT, " (reference %.6g)", r)).orElse(""),
                  bad ? " DEGRADED" : ""));
    }
    boolean degraded = !worse.isEmpty();
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("degraded", degraded);
    report.put("task", task);
    report.put("tolerance", tolerance);
    report.put("matched", scored.matched());
    report.put("unlabeled", scored.unlabeled());
    Map<String, Object> finite = new LinkedHashMap<>();
    scored.metrics().forEach((k, v) -> finite.put(k, v.isNaN() ? null : v));
    report.put("metrics", finite);
    report.put("degraded_metrics", worse);
    String monitor =
        w.string("monitor", ctx.engine().store().run(ctx.task().runId()).orElseThrow().pipeline());
    MonitorStore.Recorded rec =
        new MonitorStore(ctx.engine().db())
            .record(
                new MonitorStore.Check(
                    monitor,
                    "metrics",
                    ctx.task().runId(),
                    ctx.task().stepId(),
                    degraded,
                    null,
                    report,
                    values));
    out.put("degraded", String.valueOf(degraded));
    out.put("degraded_metrics", String.join(",", worse));
    out.put("matched", String.valueOf(scored.matched()));
    out.put("unlabeled", String.valueOf(scored.unlabeled()));
    out.put("report", String.valueOf(rec.reportId()));
    out.put("incident", rec.incidentId() == null ? "" : String.valueOf(rec.incidentId()));
    out.put("incident_opened", String.valueOf(rec.transition() == MonitorStore.Transition.OPENED));
    out.put("incident_closed", String.valueOf(rec.transition() == MonitorStore.Transition.CLOSED));
    return new Completion(Completion.Outcome.SUCCEEDED, null, null, out, metrics, List.of());
  }

  private static void require(With w, boolean present, String field, Path file, String column)
      throws With.BadInput {
    if (!present) {
      throw w.bad(field, "column '" + column + "' is missing from " + file);
    }
  }
}
