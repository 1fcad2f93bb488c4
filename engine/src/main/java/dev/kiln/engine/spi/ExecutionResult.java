package dev.kiln.engine.spi;

import dev.kiln.engine.run.Completion.Outcome;

/** How a command ended; error is a one-line reason for anything but success. */
public record ExecutionResult(Outcome outcome, Integer exitCode, String error) {
  public static ExecutionResult exited(int code) {
    return code == 0
        ? new ExecutionResult(Outcome.SUCCEEDED, 0, null)
        : new ExecutionResult(Outcome.FAILED, code, "exit code " + code);
  }
}
