package dev.kiln.dsl.model;

import java.util.Locale;

/** The type of a pipeline parameter. */
public enum ParamType {
  STRING,
  NUMBER,
  INTEGER,
  BOOLEAN;

  public String yamlName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
