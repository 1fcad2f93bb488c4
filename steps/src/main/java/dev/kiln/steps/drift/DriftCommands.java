package dev.kiln.steps.drift;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds {@code kiln drift}. */
public final class DriftCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new DriftCommand());
  }
}
