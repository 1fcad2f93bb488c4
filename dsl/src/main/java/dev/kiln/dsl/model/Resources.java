package dev.kiln.dsl.model;

/** Container limits; either may be null. {@code memoryBytes} parsed from e.g. "2g", "512m". */
public record Resources(Double cpus, Long memoryBytes) {
  public static final Resources NONE = new Resources(null, null);
}
