package dev.kiln.engine.cli;

import dev.kiln.engine.config.KilnConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --data-root DIR} of the commands that run built-in steps (server, worker, run). */
final class DataRootOption {
  @Option(
      names = "--data-root",
      paramLabel = "DIR",
      description =
          "a folder built-in steps may read and write besides the run's own folders (repeatable;"
              + " also KILN_DATA_ROOTS, folders separated by ':'; docs/security.md)")
  List<Path> dirs = new ArrayList<>();

  /** The environment's configuration with these folders added to its data roots. */
  KilnConfig config() {
    return KilnConfig.fromEnvironment().withDataRoots(dirs, "--data-root");
  }
}
