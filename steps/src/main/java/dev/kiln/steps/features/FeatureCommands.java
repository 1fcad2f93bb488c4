package dev.kiln.steps.features;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;
import java.util.Map;

/** Adds {@code kiln features} and {@code kiln bench features}. */
public final class FeatureCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new FeaturesCommand());
  }

  @Override
  public Map<String, List<Object>> subcommands() {
    return Map.of("bench", List.of(new BenchFeaturesCommand()));
  }
}
