package dev.kiln.steps.table;

import java.util.Locale;

/** The logical type of a column, as schemas name it. */
public enum ColumnKind {
  INTEGER,
  NUMBER,
  STRING,
  BOOLEAN,
  TIMESTAMP;

  public String schemaName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean numeric() {
    return this == INTEGER || this == NUMBER;
  }

  /** Maps a DuckDB column type (e.g. "BIGINT", "DECIMAL(9,2)", "TIMESTAMP WITH TIME ZONE"). */
  static ColumnKind ofDuckType(String type) {
    String t = type.toUpperCase(Locale.ROOT);
    if (t.matches("(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT))")) {
      return INTEGER;
    }
    if (t.startsWith("DOUBLE")
        || t.startsWith("FLOAT")
        || t.startsWith("DECIMAL")
        || t.equals("REAL")) {
      return NUMBER;
    }
    if (t.equals("BOOLEAN")) {
      return BOOLEAN;
    }
    if (t.startsWith("TIMESTAMP") || t.equals("DATE") || t.startsWith("TIME")) {
      return TIMESTAMP;
    }
    return STRING;
  }
}
