package dev.kiln.workers.bench;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds {@code kiln bench-registry}. */
public final class RegistryBenchCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new RegistryBenchCommand());
  }
}
