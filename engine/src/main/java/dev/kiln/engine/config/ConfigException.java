package dev.kiln.engine.config;

/** A setting is wrong; the message names it and is shown to the user as is. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
