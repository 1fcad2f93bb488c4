package dev.kiln.workers.monitor;

import dev.kiln.engine.spi.CommandProvider;
import dev.kiln.workers.drift.DriftCommand;
import java.util.List;

/** Adds {@code kiln drift} to the command line. */
public final class MonitoringCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new DriftCommand());
  }
}
