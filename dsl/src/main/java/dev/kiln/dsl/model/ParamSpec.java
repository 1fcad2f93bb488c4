package dev.kiln.dsl.model;

/**
 * A declared pipeline parameter. {@code defaultValue} is already of the declared type (String, Long
 * for integer, Double for number, Boolean) or null when the parameter is required. A {@code secret}
 * param's value is masked as {@code ***} wherever Kiln shows or stores what a step wrote.
 */
public record ParamSpec(
    String name,
    ParamType type,
    Object defaultValue,
    String description,
    Location location,
    boolean secret) {
  public ParamSpec(
      String name, ParamType type, Object defaultValue, String description, Location location) {
    this(name, type, defaultValue, description, location, false);
  }

  public boolean required() {
    return defaultValue == null;
  }
}
