package dev.kiln.engine.spi;

import dev.kiln.engine.task.Completion.Outcome;

/**
 * How a command ended; error is a one-line reason for anything but success; imageDigest the
 * resolved digest of the container image it ran in (for lineage), or null.
 */
public record ExecutionResult(Outcome outcome, Integer exitCode, String error, String imageDigest) {
  public ExecutionResult(Outcome outcome, Integer exitCode, String error) {
    this(outcome, exitCode, error, null);
  }

  public ExecutionResult withImageDigest(String digest) {
    return new ExecutionResult(outcome, exitCode, error, digest);
  }

  public static ExecutionResult exited(int code) {
    return code == 0
        ? new ExecutionResult(Outcome.SUCCEEDED, 0, null)
        : new ExecutionResult(Outcome.FAILED, code, "exit code " + code);
  }
}
