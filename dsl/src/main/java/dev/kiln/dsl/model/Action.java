package dev.kiln.dsl.model;

import java.util.Map;

/** What a step does: a shell command, or a built-in step. Strings may hold ${{ }} templates. */
public sealed interface Action {
  /** {@code run:} a shell command run with {@code sh -c}. */
  record Run(String command) implements Action {}

  /**
   * {@code uses:} a built-in step by name with its {@code with:} inputs (strings, numbers,
   * booleans, lists, maps).
   */
  record Uses(String name, Map<String, Object> with) implements Action {}
}
