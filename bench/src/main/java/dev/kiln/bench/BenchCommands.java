package dev.kiln.bench;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds the {@code kiln bench} family to the command line. */
public final class BenchCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new BenchCommand());
  }
}
