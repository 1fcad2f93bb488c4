package dev.kiln.steps.data;

import dev.kiln.steps.table.ColumnKind;
import java.util.List;

/**
 * A data set's schema: rules per column and for the whole table. Each rule knows the line it was
 * written on, so a failed check can point at it.
 */
record Schema(String file, List<ColumnRule> columns, Bounds rows) {
  public Schema {
    columns = List.copyOf(columns);
  }

  /** An inclusive range; either end may be open (null). */
  public record Bounds(Double min, Double max) {
    public boolean contains(double v) {
      return (min == null || v >= min) && (max == null || v <= max);
    }

    @Override
    public String toString() {
      return min == null
          ? "<= " + fmt(max)
          : max == null ? ">= " + fmt(min) : "within [" + fmt(min) + ", " + fmt(max) + "]";
    }

    static String fmt(Double d) {
      return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : d.toString();
    }
  }

  /** Rules for one column; null means "not checked". {@code nullable} defaults to true. */
  public record ColumnRule(
      String name,
      int line,
      ColumnKind type,
      boolean nullable,
      Double min,
      Double max,
      List<String> allowed,
      boolean unique,
      String pattern,
      Bounds mean,
      Bounds stddev,
      Bounds nullFraction) {}
}
