package dev.kiln.steps.drift;

import java.util.Locale;

/**
 * One self-contained HTML page: a summary table and, per column, the reference and current
 * distributions drawn over each other in inline SVG. No scripts, no network.
 */
final class DriftHtml {
  private static final int W = 640;
  private static final int H = 180;

  private DriftHtml() {}

  public static String render(DriftReport r) {
    StringBuilder b = new StringBuilder(16_384);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>Kiln drift report</title><style>")
        .append("body{font-family:sans-serif;margin:2em;color:#222}")
        .append("table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;")
        .append("text-align:right}td:first-child,th:first-child{text-align:left}")
        .append(".drift{color:#b00;font-weight:bold}.ok{color:#070}")
        .append(".ref{fill:#4a7bd0;fill-opacity:.45}.cur{fill:#e07b20;fill-opacity:.45}")
        .append("</style></head><body>\n");
    b.append("<h1>Drift report</h1>\n<p>Reference <code>")
        .append(esc(r.reference()))
        .append("</code> (")
        .append(r.referenceRows())
        .append(" rows), current <code>")
        .append(esc(r.current()))
        .append("</code> (")
        .append(r.currentRows())
        .append(" rows).</p>\n");
    b.append("<p class=\"")
        .append(r.drifted() ? "drift" : "ok")
        .append("\">")
        .append(r.drifted() ? "Data set drifted" : "No data set drift")
        .append(": ")
        .append(r.driftedColumns())
        .append(" of ")
        .append(r.checkedColumns())
        .append(" columns drifted (share ")
        .append(num(r.shareDrifted()))
        .append(", threshold ")
        .append(num(r.driftShare()))
        .append(").</p>\n");
    b.append("<table><tr><th>column</th><th>type</th><th>method</th><th>statistic</th>")
        .append("<th>p-value</th><th>threshold</th><th>drifted</th></tr>\n");
    for (ColumnDrift c : r.columns()) {
      b.append("<tr><td><a href=\"#c-")
          .append(esc(c.column()))
          .append("\">")
          .append(esc(c.column()))
          .append("</a></td><td>")
          .append(esc(c.type()))
          .append("</td><td>")
          .append(esc(c.method()))
          .append("</td><td>")
          .append(num(c.statistic()))
          .append("</td><td>")
          .append(num(c.pValue()))
          .append("</td><td>")
          .append(num(c.threshold()))
          .append("</td><td class=\"")
          .append(
              c.drifted() ? "drift\">yes" : c.error() != null ? "\">" + esc(c.error()) : "ok\">no")
          .append("</td></tr>\n");
    }
    b.append("</table>\n<p><svg width=\"12\" height=\"12\"><rect class=\"ref\" width=\"12\" ")
        .append("height=\"12\"/></svg> reference <svg width=\"12\" height=\"12\"><rect class=")
        .append("\"cur\" width=\"12\" height=\"12\"/></svg> current</p>\n");
    for (ColumnDrift c : r.columns()) {
      if (c.plot() != null) {
        b.append("<h2 id=\"c-")
            .append(esc(c.column()))
            .append("\">")
            .append(esc(c.column()))
            .append("</h2>\n");
        chart(b, c.plot());
      }
    }
    return b.append("</body></html>\n").toString();
  }

  private static void chart(StringBuilder b, ColumnDrift.Plot p) {
    int n = p.labels().size();
    double max = 1e-12;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, Math.max(p.reference()[i], p.current()[i]));
    }
    double bw = (double) W / n;
    b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
        .append(W)
        .append("\" height=\"")
        .append(H + 20)
        .append("\" role=\"img\">");
    for (int i = 0; i < n; i++) {
      bar(b, "ref", i * bw, bw, p.reference()[i] / max, p.labels().get(i), p.reference()[i]);
      bar(b, "cur", i * bw, bw, p.current()[i] / max, p.labels().get(i), p.current()[i]);
    }
    b.append("<text x=\"0\" y=\"")
        .append(H + 15)
        .append("\" font-size=\"11\">")
        .append(esc(p.labels().get(0)))
        .append("</text>");
    if (n > 1) {
      b.append("<text x=\"")
          .append(W)
          .append("\" y=\"")
          .append(H + 15)
          .append("\" font-size=\"11\" text-anchor=\"end\">")
          .append(esc(p.labels().get(n - 1)))
          .append("</text>");
    }
    b.append("</svg>\n");
  }

  private static void bar(
      StringBuilder b, String cls, double x, double w, double frac, String label, double share) {
    double h = frac * H;
    b.append(
        String.format(
            Locale.ROOT,
            "<rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>%s: %s %.4f</title></rect>",
            cls,
            x,
            H - h,
            Math.max(w - 1, 0.5),
            h,
            esc(label),
            cls.equals("ref") ? "reference" : "current",
            share));
  }

  private static String num(Double d) {
    if (d == null) {
      return "";
    }
    return String.format(Locale.ROOT, "%.4g", d);
  }

  static String esc(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
