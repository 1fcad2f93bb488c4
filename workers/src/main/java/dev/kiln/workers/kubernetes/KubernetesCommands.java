package dev.kiln.workers.kubernetes;

import dev.kiln.engine.spi.CommandProvider;
import java.util.List;

/** Adds the hidden {@code kiln pod-files} that a Kubernetes step's pod runs. */
public final class KubernetesCommands implements CommandProvider {
  @Override
  public List<Object> commands() {
    return List.of(new PodFilesCommand());
  }
}
