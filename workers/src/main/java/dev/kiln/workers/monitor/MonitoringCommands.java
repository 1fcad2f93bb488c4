package dev.kiln.workers.monitor;

import dev.kiln.engine.spi.CommandProvider;
import dev.kiln.workers.drift.DriftCommand;
import dev.kiln.workers.validate.SchemaCommand;
import dev.kiln.workers.validate.ValidateDataCommand;
import java.util.List;

/** Adds {@code kiln drift}, {@code validate-data}, {@code schema} and {@code monitor}. */
public final class MonitoringCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(
        new DriftCommand(), new ValidateDataCommand(), new SchemaCommand(), new MonitorCommand());
  }
}
