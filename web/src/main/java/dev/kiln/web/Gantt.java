package dev.kiln.web;

import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.TaskRecord;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A run's timeline as SVG: a row per task, a bar per attempt coloured by how it ended. */
final class Gantt {
  static final int ROW = 16;
  static final int LABEL = 190;
  static final int WIDTH = 900;
  static final int MAX_ROWS = 2_000;

  private Gantt() {}

  static String svg(List<TaskRecord> tasks, List<RunQueries.Attempt> attempts) {
    if (attempts.isEmpty()) {
      return "";
    }
    Instant now = Instant.now();
    long t0 = Long.MAX_VALUE;
    long t1 = Long.MIN_VALUE;
    for (RunQueries.Attempt a : attempts) {
      t0 = Math.min(t0, a.startedAt().toEpochMilli());
      t1 = Math.max(t1, (a.finishedAt() == null ? now : a.finishedAt()).toEpochMilli());
    }
    double span = Math.max(1, t1 - t0);
    Map<String, Integer> row = new HashMap<>();
    int rows = 0;
    for (TaskRecord t : tasks) {
      if (rows < MAX_ROWS) {
        row.put(t.stepId(), rows++);
      }
    }
    int height = rows * ROW + 20;
    StringBuilder b = new StringBuilder(attempts.size() * 200);
    b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gantt\" width=\"")
        .append(LABEL + WIDTH + 10)
        .append("\" height=\"")
        .append(height)
        .append("\">");
    b.append("<text class=\"axis\" x=\"")
        .append(LABEL)
        .append("\" y=\"12\">0s</text><text class=\"axis\" x=\"")
        .append(LABEL + WIDTH)
        .append("\" y=\"12\" text-anchor=\"end\">")
        .append(String.format(Locale.ROOT, "%.1fs", span / 1000.0))
        .append("</text>");
    for (TaskRecord t : tasks) {
      Integer r = row.get(t.stepId());
      if (r == null) {
        continue;
      }
      String name = t.stepId().length() > 28 ? t.stepId().substring(0, 27) + "…" : t.stepId();
      b.append("<text x=\"2\" y=\"")
          .append(20 + r * ROW + 11)
          .append("\">")
          .append(Html.escape(name))
          .append("</text>");
    }
    for (RunQueries.Attempt a : attempts) {
      Integer r = row.get(a.task());
      if (r == null) {
        continue;
      }
      long s = a.startedAt().toEpochMilli();
      long f = (a.finishedAt() == null ? now : a.finishedAt()).toEpochMilli();
      double x = LABEL + (s - t0) / span * WIDTH;
      double w = Math.max(2, (f - s) / span * WIDTH);
      b.append("<rect class=\"bar st-")
          .append(Html.escape(a.status()))
          .append("\" x=\"")
          .append(String.format(Locale.ROOT, "%.1f", x))
          .append("\" y=\"")
          .append(20 + r * ROW + 2)
          .append("\" width=\"")
          .append(String.format(Locale.ROOT, "%.1f", w))
          .append("\" height=\"")
          .append(ROW - 4)
          .append("\"><title>")
          .append(Html.escape(a.task()))
          .append(" attempt ")
          .append(a.attempt())
          .append(": ")
          .append(Html.escape(a.status()))
          .append(", ")
          .append(String.format(Locale.ROOT, "%.2fs", (f - s) / 1000.0))
          .append("</title></rect>");
    }
    return b.append("</svg>").toString();
  }
}
