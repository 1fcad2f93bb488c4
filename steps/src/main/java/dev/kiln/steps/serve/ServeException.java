package dev.kiln.steps.serve;

/** A model that cannot be packaged, served or deployed; the message is the one-line reason. */
final class ServeException extends Exception {
  ServeException(String message) {
    super(message);
  }

  ServeException(String message, Throwable cause) {
    super(message, cause);
  }
}
