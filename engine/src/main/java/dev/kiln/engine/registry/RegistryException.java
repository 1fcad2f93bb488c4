package dev.kiln.engine.registry;

/** Bad input to the registry (an unknown model, a malformed alias, ...); nothing was changed. */
public final class RegistryException extends RuntimeException {
  public RegistryException(String message) {
    super(message);
  }
}
