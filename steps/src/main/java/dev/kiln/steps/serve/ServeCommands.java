package dev.kiln.steps.serve;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;
import java.util.Map;

/** {@code kiln deploy}, and {@code kiln models package|download|deployments}. */
public final class ServeCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new DeployCommand());
  }

  @Override
  public Map<String, List<Object>> subcommands() {
    return Map.of(
        "models", List.of(new PackageCommand(), new DownloadCommand(), new DeploymentsCommand()));
  }
}
