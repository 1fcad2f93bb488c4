package dev.kiln.dsl.parse;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations ({@code 30s}, {@code 1h30m}, {@code 500ms}, {@code PT5M}) and sizes ({@code 512m},
 * {@code 2g}).
 */
public final class Units {
  private static final Pattern DURATION =
      Pattern.compile(
          "(?:(\\d{1,9})d)?(?:(\\d{1,9})h)?(?:(\\d{1,9})m)?(?:(\\d{1,9})s)?(?:(\\d{1,9})ms)?");
  private static final Pattern SIZE =
      Pattern.compile("(\\d{1,15}(?:\\.\\d{1,9})?)\\s*([kmgt]?)(i?)(b?)", Pattern.CASE_INSENSITIVE);

  private Units() {}

  /** The duration, or null when the text is not one. */
  public static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.isEmpty()) {
      return null;
    }
    if (t.charAt(0) == 'P' || t.charAt(0) == 'p') {
      try {
        return Duration.parse(t);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      return null;
    }
    Duration d = Duration.ZERO;
    d = d.plusDays(group(m, 1)).plusHours(group(m, 2)).plusMinutes(group(m, 3));
    return d.plusSeconds(group(m, 4)).plusMillis(group(m, 5));
  }

  /** The size in bytes (k, m, g, t are powers of 1024), or null when the text is not one. */
  public static Long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches() || (m.group(2).isEmpty() && !m.group(3).isEmpty())) {
      return null;
    }
    int power =
        switch (m.group(2).toLowerCase(Locale.ROOT)) {
          case "k" -> 1;
          case "m" -> 2;
          case "g" -> 3;
          case "t" -> 4;
          default -> 0;
        };
    BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(1024).pow(power));
    if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      return null;
    }
    return bytes.setScale(0, RoundingMode.CEILING).longValueExact();
  }

  private static long group(Matcher m, int i) {
    return m.group(i) == null ? 0 : Long.parseLong(m.group(i));
  }
}
