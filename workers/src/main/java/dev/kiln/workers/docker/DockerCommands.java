package dev.kiln.workers.docker;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** The container subcommands of {@code kiln}. */
public final class DockerCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new BenchDockerCommand());
  }
}
