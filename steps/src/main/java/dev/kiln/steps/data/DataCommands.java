package dev.kiln.steps.data;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds {@code kiln validate-data} and {@code kiln schema}. */
public final class DataCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new ValidateDataCommand(), new SchemaCommand());
  }
}
