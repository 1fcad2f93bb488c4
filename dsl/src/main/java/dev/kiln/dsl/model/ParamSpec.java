package dev.kiln.dsl.model;

/**
 * A declared pipeline parameter. {@code defaultValue} is already of the declared type (String, Long
 * for integer, Double for number, Boolean) or null when the parameter is required.
 */
public record ParamSpec(
    String name, ParamType type, Object defaultValue, String description, Location location) {
  public boolean required() {
    return defaultValue == null;
  }
}
