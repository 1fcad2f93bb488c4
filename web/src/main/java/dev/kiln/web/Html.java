package dev.kiln.web;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** Escaping for the HTML and SVG the server builds outside templates, and ANSI handling. */
final class Html {
  /** CSI sequences (colours, cursor moves), OSC sequences (titles, links), other escapes. */
  private static final Pattern ANSI =
      Pattern.compile(
          "\u001B\\[[0-?]*[ -/]*[@-~]|\u001B\\][^\u0007\u001B]*(\u0007|\u001B\\\\)?|\u001B[@-_]");

  /** Other control characters but tab. */
  private static final Pattern CONTROL = Pattern.compile("[\\x00-\\x08\\x0B-\\x1F\\x7F]");

  private Html() {}

  static String escape(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String r =
          switch (c) {
            case '<' -> "&lt;";
            case '>' -> "&gt;";
            case '&' -> "&amp;";
            case '"' -> "&quot;";
            case '\'' -> "&#39;";
            default -> null;
          };
      if (r != null && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b != null) {
        if (r != null) {
          b.append(r);
        } else {
          b.append(c);
        }
      }
    }
    return b == null ? s : b.toString();
  }

  /** A log line as text: ANSI colour codes and other control characters removed. */
  static String plain(String line) {
    if (line == null) {
      return "";
    }
    if (line.indexOf('\u001B') < 0 && !CONTROL.matcher(line).find()) {
      return line;
    }
    return CONTROL.matcher(ANSI.matcher(line).replaceAll("")).replaceAll("");
  }

  static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** Opens an SVG drawing of this size (its viewBox the same) with a CSS class. */
  static StringBuilder svgStart(StringBuilder b, String cssClass, int width, int height) {
    return b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"")
        .append(cssClass)
        .append("\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append("\" viewBox=\"0 0 ")
        .append(width)
        .append(' ')
        .append(height)
        .append("\">");
  }
}
