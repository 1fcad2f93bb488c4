package dev.kiln.steps.features;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.registry.OnlineStore;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code uses: features/skew}: online values against offline point-in-time values for a sample of
 * entities ({@code with.sample}, default 100); fails when the share of differing values is above
 * {@code with.max_skew} (default 0).
 */
public final class SkewStep implements BuiltinStep {
  static final String NAME = "features/skew";

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Compares online feature values with offline point-in-time values for a sample of"
            + " entities.",
        List.of(
            WithKey.required("service", Type.STRING, "the feature service"),
            WithKey.optional("sample", Type.INTEGER, "how many entities (default 100)"),
            WithKey.optional(
                "max_skew", Type.NUMBER, "the largest share of differing values that passes (0)")),
        Outputs.of(
            "skew", "the share of values that differ",
            "passed", "true when skew <= max_skew",
            "entities", "entities compared"));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Completion run(Context ctx) {
    try {
      String service = FeatureSteps.string(NAME, ctx.with(), "service", null);
      int sample = (int) FeatureSteps.number(NAME, ctx.with(), "sample", 100);
      double max = FeatureSteps.number(NAME, ctx.with(), "max_skew", 0);
      SkewCheck.Result r;
      try (FeatureTables t = FeatureTables.open(ctx.engine())) {
        r = SkewCheck.run(new FeatureStore(ctx.engine()), t, service, Math.max(1, sample));
      }
      boolean passed = r.skew() <= max;
      FeatureSteps.log(
          ctx,
          String.format(
              "skew %.4f (%d of %d values differ, %d entities, at %s)%s",
              r.skew(),
              r.mismatches(),
              r.values(),
              r.entities(),
              r.at(),
              passed ? "" : " > " + max));
      r.examples().forEach(e -> FeatureSteps.log(ctx, "  " + e));
      Map<String, String> out = new LinkedHashMap<>();
      out.put("skew", String.valueOf(r.skew()));
      out.put("passed", String.valueOf(passed));
      out.put("entities", String.valueOf(r.entities()));
      List<Completion.Metric> metrics = List.of(new Completion.Metric("feature_skew", r.skew()));
      if (!passed) {
        return new Completion(
            Completion.Outcome.FAILED,
            null,
            NAME + ": skew " + r.skew() + " is above with.max_skew " + max,
            out,
            metrics,
            List.of());
      }
      return FeatureSteps.succeeded(out, metrics);
    } catch (FeatureException | RegistryException | OnlineStore.NotFound e) {
      return Completion.failed(e.getMessage().replace('\n', ' '));
    }
  }
}
