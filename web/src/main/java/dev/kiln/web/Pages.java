package dev.kiln.web;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.engine.registry.AliasEvent;
import dev.kiln.engine.registry.DatasetUsage;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.MonitorViews;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.StepStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What each template shows: one record per page, filled by the page handlers. */
public final class Pages {
  private Pages() {}

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

  /** A UTC time as text, or an empty string. */
  public static String time(Instant t) {
    return t == null ? "" : TIME.format(t);
  }

  /** A duration as text (1.2s, 3m04s, 2h05m), or an empty string. */
  public static String duration(Instant from, Instant to) {
    if (from == null) {
      return "";
    }
    Duration d = Duration.between(from, to == null ? Instant.now() : to);
    long s = d.getSeconds();
    if (s < 60) {
      return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
  }

  /** JSON for a {@code <script type="application/json">} block: no {@code <} can end it. */
  static String json(Object o) {
    return Json.write(o).replace("<", "\\u003c");
  }

  public static String url(String s) {
    return Html.query(s);
  }

  /** A value as one path segment (a space is %20 there, not +). */
  public static String path(String s) {
    return Html.query(s).replace("+", "%20");
  }

  /** The frame every page shares: who is signed in, what they may do, the CSRF token. */
  public record Frame(String title, String section, String user, String role, String csrf) {
    public boolean operator() {
      return "operator".equals(role) || "admin".equals(role);
    }

    public boolean admin() {
      return "admin".equals(role);
    }
  }

  /**
   * An {@code approval/wait} task waiting for a decision: its name, deadline (null: none) and the
   * step's {@code message} (null when it has none or it is an expression).
   */
  public record Waiting(String task, Instant deadline, String message) {}

  public record RunList(
      List<RunRecord> runs,
      List<String> pipelines,
      String pipeline,
      String status,
      String search,
      Long next,
      boolean first) {
    public String nextLink() {
      return "/runs?before="
          + next
          + (pipeline == null ? "" : "&pipeline=" + url(pipeline))
          + (status == null ? "" : "&status=" + url(status))
          + (search == null ? "" : "&q=" + url(search));
    }
  }

  /** One step of a run with its tasks (one, or one per matrix combination). */
  public record StepRow(String id, String status, List<TaskRecord> tasks) {
    public boolean matrix() {
      return tasks.size() > 1 || (tasks.size() == 1 && !tasks.get(0).stepId().equals(id));
    }
  }

  public record RunView(
      RunRecord run,
      String dagSvg,
      String ganttSvg,
      List<StepRow> steps,
      int taskCount,
      Map<String, Map<String, List<Double>>> metrics,
      List<RunQueries.Artifact> artifacts,
      TaskRecord selected,
      List<RunQueries.Attempt> selectedAttempts,
      boolean live,
      List<Waiting> waiting) {
    /** Whether the selected task may still write to its log: the page then follows it. */
    public boolean followSelected() {
      return selected != null
          && (selected.status() == StepStatus.QUEUED || selected.status() == StepStatus.RUNNING);
    }
  }

  public record LogPage(
      long runId,
      String task,
      String stream,
      String search,
      List<LogLine> lines,
      long last,
      boolean more,
      boolean follow) {
    public String line(LogLine l) {
      return Html.plain(l.line());
    }

    public String moreLink() {
      return "/runs/"
          + runId
          + "/log?task="
          + url(task)
          + "&after="
          + last
          + (stream == null ? "" : "&stream=" + url(stream))
          + (search == null ? "" : "&q=" + url(search))
          + (follow ? "&follow=true" : "");
    }

    /** Where the page's script follows the log from its last line (server-sent events). */
    public String eventsLink() {
      return "/runs/"
          + runId
          + "/log/events?task="
          + url(task)
          + "&after="
          + last
          + (stream == null ? "" : "&stream=" + url(stream))
          + (search == null ? "" : "&q=" + url(search));
    }
  }

  public record PipelineRow(
      String name, String file, int steps, int triggers, String problem, boolean active) {}

  public record Firing(String kind, String detail, String next) {}

  public record PipelineView(
      String name,
      String file,
      String description,
      List<String> lines,
      Map<Integer, List<String>> problems,
      List<ParamSpec> params,
      List<Firing> triggers,
      List<RunRecord> recent,
      boolean active) {
    public String problemsAt(int line) {
      return String.join("; ", problems.getOrDefault(line, List.of()));
    }
  }

  public record ModelRow(String name, int versions, Map<String, Integer> aliases) {}

  public record ModelView(
      String name,
      List<ModelVersion> versions,
      List<String> metricKeys,
      Map<String, Integer> aliases,
      List<AliasEvent> history,
      String chartJson,
      String metric,
      String lineageSvg) {}

  public record DatasetRow(DatasetVersion latest, int versions) {}

  public record DatasetView(
      String name,
      List<DatasetVersion> versions,
      DatasetVersion selected,
      List<DatasetUsage.Read> reads,
      List<DatasetUsage.Model> models,
      String lineageSvg) {}

  public record MonitorView(
      String monitor,
      List<MonitorStore.HistoryRow> history,
      List<MonitorStore.Incident> incidents,
      String chartJson,
      Long reportWithHtml,
      List<MonitorStore.Value> latestValues,
      boolean performance,
      List<MonitorViews.Alert> alerts) {}

  public record MonitorList(List<MonitorViews.Summary> monitors) {}
}
