package dev.kiln.steps.features;

import java.util.Locale;
import java.util.Set;

/** The types a feature may declare, with the DuckDB column types each accepts from data. */
enum FeatureType {
  INT("BIGINT"),
  FLOAT("DOUBLE"),
  STRING("VARCHAR"),
  BOOL("BOOLEAN");

  private static final Set<String> INTEGERS =
      Set.of(
          "TINYINT",
          "SMALLINT",
          "INTEGER",
          "BIGINT",
          "HUGEINT",
          "UTINYINT",
          "USMALLINT",
          "UINTEGER",
          "UBIGINT");

  /** The DuckDB type values are cast to. */
  final String sqlType;

  FeatureType(String sqlType) {
    this.sqlType = sqlType;
  }

  String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  static FeatureType of(String text) {
    for (FeatureType t : values()) {
      if (t.label().equals(text)) {
        return t;
      }
    }
    return null;
  }

  /** Whether a column of this DuckDB type holds values of this feature type. */
  boolean accepts(String duckType) {
    String t = duckType.toUpperCase(Locale.ROOT);
    return switch (this) {
      case INT -> INTEGERS.contains(t);
      case FLOAT ->
          INTEGERS.contains(t)
              || t.equals("FLOAT")
              || t.equals("DOUBLE")
              || t.startsWith("DECIMAL");
      case STRING -> true;
      case BOOL -> t.equals("BOOLEAN");
    };
  }

  static boolean isNumeric(String duckType) {
    return FLOAT.accepts(duckType);
  }
}
