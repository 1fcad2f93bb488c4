package dev.kiln.steps.model;

import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code uses: model/gate}: checks the run's metrics against thresholds, against the model version
 * under an alias (champion/challenger) and a fairness check. A gate that is not passed still
 * succeeds, with {@code passed=false} and the reasons, so the next step decides with {@code if: ${{
 * steps.gate.outputs.passed }}}; bad input (a metric the run never wrote, a missing file) fails the
 * step.
 */
public final class ModelGateStep implements BuiltinStep {
  static final String NAME = "model/gate";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Decides whether the model of the run is good enough: metric thresholds, beating the current champion, fairness.",
        List.of(
            WithKey.optional(
                "metric",
                Type.STRING,
                "the metric checked with min/max (or compared with the champion)"),
            WithKey.optional("min", Type.NUMBER, "the lowest acceptable value of metric"),
            WithKey.optional("max", Type.NUMBER, "the highest acceptable value of metric"),
            WithKey.optional(
                "conditions", Type.LIST, "several checks: a list of {metric, min, max}"),
            WithKey.optional(
                "beat",
                Type.STRING,
                "an alias (e.g. production) whose version the model must beat"),
            WithKey.optional(
                "beat_metric",
                Type.STRING,
                "the metric compared with the champion (default: metric)"),
            WithKey.optional(
                "model",
                Type.STRING,
                "the model whose alias is beaten (default: the one this run registered)"),
            WithKey.optional(
                "min_improvement", Type.NUMBER, "the least absolute gain over the champion"),
            WithKey.optional(
                "min_improvement_pct", Type.NUMBER, "the least gain over the champion, in percent"),
            WithKey.optional(
                "lower_is_better", Type.BOOLEAN, "for losses and errors (default false)"),
            WithKey.optional(
                "fairness",
                Type.MAP,
                "group fairness: data, sensitive, label, prediction, positive and max_demographic_parity / max_equal_opportunity")),
        Outputs.of("passed", "true or false", "reasons", "why it did not pass, joined by '; '"));
  }

  record Condition(String metric, Double min, Double max) {}

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      List<Condition> conditions = conditions(in);
      boolean beat = in.has("beat");
      boolean fair = in.raw("fairness") != null;
      if (conditions.isEmpty() && !beat && !fair) {
        throw new With.BadInput(
            NAME
                + ": nothing to check: give 'metric' with 'min'/'max',"
                + " 'conditions', 'beat' or 'fairness'");
      }
      Map<String, Double> metrics = ctx.engine().models().runMetrics(ctx.task().runId());
      List<String> reasons = new ArrayList<>();
      List<String> notes = new ArrayList<>();
      for (Condition c : conditions) {
        double v = metric(metrics, c.metric());
        if (c.min() != null && v < c.min()) {
          reasons.add(c.metric() + " " + fmt(v) + " < min " + fmt(c.min()));
        } else if (c.max() != null && v > c.max()) {
          reasons.add(c.metric() + " " + fmt(v) + " > max " + fmt(c.max()));
        } else {
          notes.add(c.metric() + " " + fmt(v) + " ok");
        }
      }
      if (beat) {
        checkBeat(ctx, in, conditions, metrics, reasons, notes);
      }
      if (fair) {
        reasons.addAll(Fairness.check(NAME, in.nested("fairness", Fairness.FIELDS), notes));
      }
      notes.forEach(n -> ctx.logs().line("system", "gate: " + n));
      reasons.forEach(r -> ctx.logs().line("system", "gate failed: " + r));
      Map<String, String> out = new LinkedHashMap<>();
      out.put("passed", String.valueOf(reasons.isEmpty()));
      out.put("reasons", String.join("; ", reasons));
      return new Completion(Completion.Outcome.SUCCEEDED, null, null, out, List.of(), List.of());
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.failed(e.getMessage());
    }
  }

  private static void checkBeat(
      Context ctx,
      With in,
      List<Condition> conditions,
      Map<String, Double> metrics,
      List<String> reasons,
      List<String> notes)
      throws With.BadInput {
    String alias = Names.alias(in.string("beat"));
    String model = in.has("model") ? in.string("model") : registeredModel(ctx);
    String metric =
        in.has("beat_metric")
            ? in.string("beat_metric")
            : in.has("metric")
                ? in.string("metric")
                : conditions.isEmpty() ? in.string("beat_metric") : conditions.get(0).metric();
    double mine = metric(metrics, metric);
    Optional<ModelVersion> champ = ctx.engine().models().lookup(model, alias);
    if (champ.isEmpty()) {
      notes.add("no version of " + model + " is " + alias + " yet: nothing to beat");
      return;
    }
    Double theirs = champ.get().metrics().get(metric);
    if (theirs == null) {
      notes.add(
          champ.get().ref() + " (" + alias + ") has no metric '" + metric + "': nothing to beat");
      return;
    }
    Double abs = in.number("min_improvement");
    Double pct = in.number("min_improvement_pct");
    boolean lowerIsBetter = Boolean.parseBoolean(in.string("lower_is_better", "false"));
    double sign = lowerIsBetter ? -1 : 1;
    double gain = sign * (mine - theirs);
    String vs =
        metric
            + " "
            + fmt(mine)
            + " vs "
            + fmt(theirs)
            + " of "
            + champ.get().ref()
            + " ("
            + alias
            + ")";
    boolean ok;
    if (abs == null && pct == null) {
      ok = gain > 0;
      if (!ok) {
        reasons.add(vs + ": does not beat it");
      }
    } else {
      double need = abs != null ? abs : Math.abs(theirs) * pct / 100.0;
      ok = gain >= need;
      if (!ok) {
        reasons.add(vs + ": improvement " + fmt(gain) + " < required " + fmt(need));
      }
    }
    if (ok) {
      notes.add(vs + ": beats it");
    }
  }

  /**
   * Without 'model', the model this pipeline registers (DESIGN's example gates with just {@code
   * beat: production}): the name of its one model/register step, when it is a literal.
   */
  private static String registeredModel(Context ctx) throws With.BadInput {
    Set<String> names = new TreeSet<>();
    var run = ctx.engine().store().run(ctx.task().runId()).orElseThrow();
    for (var step : ctx.engine().runs().pipeline(run.pipelineVersion()).steps().values()) {
      if (step.action() instanceof Action.Uses u
          && u.name().equals(ModelRegisterStep.NAME)
          && u.with().get("name") instanceof String n
          && !n.contains("${{")) {
        names.add(n);
      }
    }
    if (names.size() != 1) {
      throw new With.BadInput(
          NAME
              + ": with.model: required with 'beat' (which model's "
              + alias(ctx)
              + " to beat)"
              + (names.isEmpty() ? "" : "; this pipeline registers " + names));
    }
    return names.iterator().next();
  }

  private static String alias(Context ctx) {
    return String.valueOf(ctx.with().get("beat"));
  }

  private static double metric(Map<String, Double> metrics, String key) throws With.BadInput {
    Double v = metrics.get(key);
    if (v == null) {
      throw new With.BadInput(
          NAME
              + ": metric '"
              + key
              + "' was never written by this run"
              + (metrics.isEmpty()
                  ? " (it wrote no metrics)"
                  : " (it has: " + String.join(", ", new TreeSet<>(metrics.keySet())) + ")"));
    }
    return v;
  }

  static List<Condition> conditions(With in) throws With.BadInput {
    List<Condition> out = new ArrayList<>();
    if (in.has("metric") && (in.has("min") || in.has("max"))) {
      out.add(new Condition(in.string("metric"), in.number("min"), in.number("max")));
    }
    Object list = in.raw("conditions");
    if (list != null) {
      if (!(list instanceof List<?> l)) {
        throw in.bad("conditions", "must be a list of {metric, min, max}");
      }
      int i = 0;
      for (Object o : l) {
        if (!(o instanceof Map<?, ?> m)
            || m.get("metric") == null
            || (m.get("min") == null && m.get("max") == null)) {
          throw in.bad("conditions[" + i + "]", "needs 'metric' and 'min' or 'max'");
        }
        out.add(
            new Condition(
                String.valueOf(m.get("metric")),
                With.number(NAME, "with.conditions[" + i + "].min", m.get("min")),
                With.number(NAME, "with.conditions[" + i + "].max", m.get("max"))));
        i++;
      }
    }
    return out;
  }

  static String fmt(double d) {
    return String.format(Locale.ROOT, "%.4g", d);
  }
}
