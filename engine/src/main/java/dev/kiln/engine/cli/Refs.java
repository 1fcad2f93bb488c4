package dev.kiln.engine.cli;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/** Parsing what users type for the registry commands (NAME@VERSION, times) and small formats. */
final class Refs {
  private Refs() {}

  record Ref(String name, int version) {}

  static Ref parse(String text) {
    int at = text.lastIndexOf('@');
    if (at <= 0 || at == text.length() - 1) {
      throw new UserError("'" + text + "' is not NAME@VERSION (e.g. churn@3)");
    }
    try {
      int v = Integer.parseInt(text.substring(at + 1));
      if (v < 1) {
        throw new NumberFormatException();
      }
      return new Ref(text.substring(0, at), v);
    } catch (NumberFormatException e) {
      throw new UserError(
          "'" + text + "' is not NAME@VERSION: the version must be a number from 1");
    }
  }

  /** An ISO instant (2026-11-26T10:00:00Z) or a date, meaning the end of that day in UTC. */
  static Instant time(String text) {
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException notInstant) {
      try {
        return LocalDate.parse(text)
            .plusDays(1)
            .atStartOfDay()
            .toInstant(ZoneOffset.UTC)
            .minusNanos(1);
      } catch (DateTimeParseException e) {
        throw new UserError(
            "--at '" + text + "' is not a time: use 2026-11-26T10:00:00Z or 2026-11-26");
      }
    }
  }

  static String number(double d) {
    return String.format(Locale.ROOT, "%.6g", d)
        .replaceAll("(\\.\\d*?)0+$", "$1")
        .replaceAll("\\.$", "");
  }

  static String metrics(Map<String, Double> m) {
    StringJoiner j = new StringJoiner(" ");
    new TreeMap<>(m).forEach((k, v) -> j.add(k + "=" + number(v)));
    return j.length() == 0 ? "-" : j.toString();
  }

  static String map(Map<String, ?> m) {
    StringJoiner j = new StringJoiner(" ");
    new TreeMap<>(m).forEach((k, v) -> j.add(k + "=" + v));
    return j.length() == 0 ? "-" : j.toString();
  }

  static String shortSha(String sha) {
    return sha == null ? "-" : sha.substring(0, Math.min(12, sha.length()));
  }
}
