package dev.kiln.engine.cli;

/** A mistake in what the user asked; printed as one line, exit code 2. */
final class UserError extends RuntimeException {
  UserError(String message) {
    super(message);
  }
}
