package dev.kiln.dsl.parse;

import java.text.ParseException;
import java.util.TimeZone;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.quartz.CronExpression;

/**
 * Cron expressions as the DSL accepts them: Quartz (6-7 fields, with seconds) as is, and Unix (5
 * fields) converted to Quartz. Quartz then validates the result, so the scheduler and {@code kiln
 * validate} agree on what is valid.
 */
public final class CronSyntax {
  private static final Pattern NUMBER = Pattern.compile("(?<![/#\\d])(\\d+)");

  private CronSyntax() {}

  /**
   * The Quartz form of a 5, 6 or 7-field expression; IllegalArgumentException says what is wrong.
   */
  public static String toQuartz(String expression) {
    String[] f = expression.trim().split("\\s+");
    String quartz;
    if (f.length == 5) {
      quartz = fromUnix(f);
    } else if (f.length == 6 || f.length == 7) {
      quartz = String.join(" ", f);
    } else {
      throw new IllegalArgumentException(
          "cron expression '"
              + expression
              + "' has "
              + f.length
              + (f.length == 1 ? " field" : " fields")
              + "; expected 5 (minute hour day month weekday) or 6-7 (Quartz, with seconds and year)");
    }
    try {
      CronExpression.validateExpression(quartz);
    } catch (ParseException e) {
      throw new IllegalArgumentException(
          "invalid cron expression '"
              + expression
              + "'"
              + (f.length == 5 ? " (as Quartz: '" + quartz + "')" : "")
              + ": "
              + e.getMessage());
    }
    return quartz;
  }

  /** A parsed expression in a zone (null: UTC). */
  public static CronExpression parse(String expression, String timezone) {
    try {
      CronExpression c = new CronExpression(toQuartz(expression));
      c.setTimeZone(TimeZone.getTimeZone(timezone == null ? "UTC" : timezone));
      return c;
    } catch (ParseException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  // Unix: minute hour day-of-month month day-of-week (0-7, 0 and 7 Sunday; a day matches when
  // either day field matches). Quartz: seconds first, day-of-week 1-7 with 1 Sunday, and one of
  // the two day fields must be '?'.
  private static String fromUnix(String[] f) {
    String dom = f[2];
    String dow = f[4];
    boolean domAny = dom.equals("*") || dom.equals("?");
    boolean dowAny = dow.equals("*") || dow.equals("?");
    if (!domAny && !dowAny) {
      throw new IllegalArgumentException(
          "cron expression '"
              + String.join(" ", f)
              + "' restricts both day of month and day of week; Quartz cannot match either one:"
              + " use '*' for one of them, or two triggers");
    }
    if (dowAny) {
      dow = "?";
    } else {
      dom = "?";
      dow = unixWeekdays(dow);
    }
    return String.join(" ", "0", f[0], f[1], dom, f[3], dow);
  }

  private static String unixWeekdays(String field) {
    Matcher m = NUMBER.matcher(field);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      int day = Integer.parseInt(m.group(1));
      String mapped = day > 7 ? m.group(1) : String.valueOf(day % 7 + 1);
      m.appendReplacement(out, mapped);
    }
    m.appendTail(out);
    return out.toString();
  }
}
