package dev.kiln.steps.features;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code uses: features/materialize}: loads the latest values of every view (or {@code with.views})
 * into the online table up to {@code with.end} (default now); a scheduled materialization is this
 * step in a cron pipeline.
 */
public final class MaterializeStep implements BuiltinStep {
  static final String NAME = "features/materialize";

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Loads the latest feature values per entity into the online store, from each view's"
            + " watermark.",
        List.of(
            WithKey.optional("views", Type.LIST, "only these views (default: all)"),
            WithKey.optional(
                "end", Type.STRING, "materialize up to this ISO 8601 time (default now)")),
        Outputs.of(
            "rows", "rows written to the online store", "end", "the time materialized up to"));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Completion run(Context ctx) {
    try {
      String end = FeatureSteps.string(NAME, ctx.with(), "end", "");
      Instant until =
          end.isEmpty() ? Instant.now() : FeaturesCommand.instant(end, NAME + ": with.end");
      long rows = 0;
      FeatureStore store = new FeatureStore(ctx.engine());
      for (Materializer.Result r :
          FeaturesCommand.materialize(store, FeatureSteps.list(ctx.with(), "views"), until)) {
        FeatureSteps.log(ctx, "view " + r.view() + ": " + r.rows() + " rows up to " + r.to());
        rows += r.rows();
      }
      Map<String, String> out = new LinkedHashMap<>();
      out.put("rows", String.valueOf(rows));
      out.put("end", until.toString());
      return FeatureSteps.succeeded(out, List.of(new Completion.Metric("materialized_rows", rows)));
    } catch (FeatureException | RegistryException e) {
      return Completion.failed(e.getMessage().replace('\n', ' '));
    }
  }
}
