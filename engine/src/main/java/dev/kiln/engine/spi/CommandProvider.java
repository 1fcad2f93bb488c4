package dev.kiln.engine.spi;

import java.util.List;
import java.util.Map;

/**
 * Adds subcommands to {@code kiln} from modules the engine does not import (drift reports, registry
 * commands, ...). Found through {@link java.util.ServiceLoader}; each returned object is a picocli
 * {@code @Command}.
 */
public interface CommandProvider {
  List<Object> commands();

  /** Subcommands for existing commands, by the parent's name (e.g. "models"). */
  default Map<String, List<Object>> subcommands() {
    return Map.of();
  }
}
