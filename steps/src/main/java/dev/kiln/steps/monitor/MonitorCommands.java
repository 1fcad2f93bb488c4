package dev.kiln.steps.monitor;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds {@code kiln monitor}. */
public final class MonitorCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new MonitorCommand());
  }
}
