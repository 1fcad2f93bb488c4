package dev.kiln.steps.features;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds {@code kiln features}. */
public final class FeatureCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new FeaturesCommand(), new BenchFeaturesCommand());
  }
}
