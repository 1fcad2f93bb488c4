package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.ArtifactDownload;
import dev.kiln.engine.server.LogStream;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;

/** The runs list, a run's page (DAG, timeline, steps, outputs, metrics, artifacts) and its logs. */
final class RunPages {
  static final int PAGE = 50;
  static final int LOG_PAGE = 500;
  private static final int DOWNLOAD_PAGE = 5_000;
  private static final int CACHED_LAYOUTS = 200;
  private static final Set<String> STATUSES =
      Set.of("queued", "running", "succeeded", "failed", "cancelled");
  private static final Set<String> STREAMS = Set.of("stdout", "stderr", "system");

  private final Engine engine;
  private final RunQueries store;
  private final Views views;
  private final Map<String, DagLayout> layouts = new ConcurrentHashMap<>();

  RunPages(Engine engine, Views views) {
    this.engine = engine;
    this.store = new RunQueries(engine.db());
    this.views = views;
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/runs", Role.VIEWER, this::list),
        route(GET, "/runs/{id}", Role.VIEWER, this::run),
        route(GET, "/runs/{id}/status", Role.VIEWER, this::status),
        route(GET, "/runs/{id}/log", Role.VIEWER, this::log),
        route(GET, "/runs/{id}/log/events", Role.VIEWER, this::follow),
        route(GET, "/runs/{id}/log.txt", Role.VIEWER, this::download),
        route(GET, "/runs/{id}/artifacts/{step}/{name}", Role.VIEWER, this::artifact));
  }

  private Reply list(Exchange e) {
    String pipeline = Req.param(e, "pipeline");
    String status = Req.param(e, "status");
    if (status != null && !STATUSES.contains(status)) {
      status = null;
    }
    String search = Req.param(e, "q");
    Long before = Req.longParam(e, "before");
    RunQueries.Page page =
        store.runs(
            new RunQueries.Filter(
                pipeline,
                status == null ? null : RunStatus.of(status),
                null,
                search,
                before,
                PAGE));
    return views.page(
        200,
        "runs.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Runs", "runs"),
        "v",
        new Pages.RunList(
            page.runs(),
            store.pipelineNames(),
            pipeline,
            status,
            search,
            page.next(),
            before == null));
  }

  private RunRecord runOf(Exchange e) throws InvalidRequest {
    long id = Req.id(e, "id", "run");
    return engine.store().run(id).orElseThrow(() -> new InvalidRequest(404, "no run " + id));
  }

  private Reply run(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    List<TaskRecord> tasks = engine.store().tasks(run.id());
    Pipeline p = pipeline(run.pipelineVersion());
    List<Pages.StepRow> steps = steps(p, tasks);
    Map<String, DagLayout.NodeState> states = new LinkedHashMap<>();
    for (Pages.StepRow s : steps) {
      long done = s.tasks().stream().filter(t -> t.status() == StepStatus.SUCCEEDED).count();
      states.put(
          s.id(),
          new DagLayout.NodeState(s.status(), s.matrix() ? done + "/" + s.tasks().size() : ""));
    }
    DagLayout layout = layout(run.pipelineVersion(), p, steps);
    String dag = layout.svg(states, "/runs/" + run.id() + "?task=");
    List<RunQueries.Attempt> attempts = store.attempts(run.id(), null);
    String selectedName = Req.param(e, "task");
    TaskRecord selected = null;
    if (selectedName != null) {
      for (TaskRecord t : tasks) {
        if (t.stepId().equals(selectedName)) {
          selected = t;
        }
      }
      if (selected == null) {
        // A matrix step's id selects its first combination.
        for (TaskRecord t : tasks) {
          if (selected == null && t.stepId().startsWith(selectedName + "[")) {
            selected = t;
          }
        }
      }
    }
    String selectedId = selected == null ? null : selected.stepId();
    return views.page(
        200,
        "run.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Run " + run.id(), "runs"),
        "v",
        new Pages.RunView(
            run,
            dag,
            Gantt.svg(tasks, attempts),
            steps,
            tasks.size(),
            engine.store().metrics(run.id()),
            store.artifacts(run.id()),
            selected,
            attempts.stream().filter(a -> a.task().equals(selectedId)).toList(),
            !ended(run.status()),
            ended(run.status()) ? List.of() : ApprovalForms.waiting(engine.db(), run, p, tasks)));
  }

  private static boolean ended(RunStatus s) {
    return s == RunStatus.SUCCEEDED || s == RunStatus.FAILED || s == RunStatus.CANCELLED;
  }

  /** The statuses the page's script recolours the DAG with, polled while the run is live. */
  private Reply status(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    Map<String, List<TaskRecord>> byStep = new LinkedHashMap<>();
    for (TaskRecord t : engine.store().tasks(run.id())) {
      byStep.computeIfAbsent(stepOf(t.stepId()), k -> new ArrayList<>()).add(t);
    }
    Map<String, Object> steps = new LinkedHashMap<>();
    byStep.forEach(
        (step, ts) ->
            steps.put(
                step, StepStatus.overTasks(ts.stream().map(TaskRecord::status).toList()).db()));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run", run.status().db());
    m.put("ended", ended(run.status()));
    m.put("steps", steps);
    return new Reply(200, m);
  }

  private Reply log(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    String task = logTask(e);
    String stream = logStream(e);
    String search = Req.param(e, "q");
    long after = Req.longParam(e, "after") == null ? 0 : Req.longParam(e, "after");
    boolean follow = "true".equals(Req.param(e, "follow"));
    List<LogLine> lines =
        store.logPage(run.id(), task, new RunQueries.LogQuery(stream, search, after, LOG_PAGE));
    long last = lines.isEmpty() ? after : lines.get(lines.size() - 1).id();
    return views.page(
        200,
        "log.jte",
        "v",
        new Pages.LogPage(
            run.id(), task, stream, search, lines, last, lines.size() == LOG_PAGE, follow));
  }

  /**
   * A task's new lines as server-sent events (the page's script appends them), from line {@code
   * after} on, until the task is settled; then an {@code end} event. The same stream as the API's
   * {@code ?follow=true}, with the page's stream and search filter, and lines as the page shows
   * them (ANSI and control characters stripped; the script inserts them as text).
   */
  private Reply follow(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    String task = logTask(e);
    String stream = logStream(e);
    long after = Req.longParam(e, "after") == null ? 0 : Req.longParam(e, "after");
    String resumed = e.getIn().getHeader("Last-Event-ID", String.class);
    if (resumed != null && resumed.matches("\\d{1,18}")) {
      after = Long.parseLong(resumed);
    }
    LogStream sse =
        new LogStream(
            store,
            run.id(),
            task,
            new RunQueries.LogQuery(stream, Req.param(e, "q"), after, LogStream.PAGE),
            true,
            l -> {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("attempt", l.attempt());
              m.put("stream", l.stream());
              m.put("line", Html.plain(l.line()));
              return "id: " + l.id() + "\nevent: line\ndata: " + Json.write(m) + "\n\n";
            },
            "event: end\ndata: {}\n\n");
    return new Reply(
        200,
        sse,
        "text/event-stream",
        Map.of("Cache-Control", "no-cache", "X-Accel-Buffering", "no"));
  }

  /**
   * The whole log of a task as text, read from the store a page at a time while it is sent, so a 1
   * GB log streams in constant memory.
   */
  private Reply download(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    String task = logTask(e);
    String stream = logStream(e);
    String only = stream;
    InputStream body =
        new SequenceInputStream(
            new Enumeration<>() {
              private long after = 0;
              private boolean done;
              private InputStream next;

              @Override
              public boolean hasMoreElements() {
                if (next == null && !done) {
                  List<LogLine> page =
                      store.logPage(
                          run.id(),
                          task,
                          new RunQueries.LogQuery(only, null, after, DOWNLOAD_PAGE));
                  if (page.isEmpty()) {
                    done = true;
                  } else {
                    StringBuilder b = new StringBuilder();
                    for (LogLine l : page) {
                      b.append(l.line()).append('\n');
                    }
                    after = page.get(page.size() - 1).id();
                    done = page.size() < DOWNLOAD_PAGE;
                    next = new ByteArrayInputStream(b.toString().getBytes(StandardCharsets.UTF_8));
                  }
                }
                return next != null;
              }

              @Override
              public InputStream nextElement() {
                InputStream n = next;
                next = null;
                return n;
              }
            });
    String file = ("run-" + run.id() + "-" + task + ".log").replaceAll("[^A-Za-z0-9._=,-]", "_");
    return Reply.of(
        200,
        x -> {
          x.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain; charset=utf-8");
          x.getMessage().setHeader("Content-Disposition", "attachment; filename=\"" + file + "\"");
          x.getMessage().setHeader("X-Content-Type-Options", "nosniff");
          x.getMessage().setBody(body);
        });
  }

  /** An artifact of the run: a file as it is, a folder as a zip (as the API sends them). */
  private Reply artifact(Exchange e) throws InvalidRequest {
    RunRecord run = runOf(e);
    return ArtifactDownload.of(
        engine.artifacts(), store, run.id(), Req.param(e, "step"), Req.param(e, "name"));
  }

  private static String logTask(Exchange e) throws InvalidRequest {
    String task = Req.param(e, "task");
    if (task == null) {
      throw new InvalidRequest(400, "which task's log: add ?task=NAME");
    }
    return task;
  }

  /** The stream filter of a log request; an unknown stream does not filter. */
  private static String logStream(Exchange e) {
    String stream = Req.param(e, "stream");
    return stream != null && STREAMS.contains(stream) ? stream : null;
  }

  static String stepOf(String task) {
    int b = task.indexOf('[');
    return b < 0 ? task : task.substring(0, b);
  }

  /**
   * The run's steps in the pipeline's order with their tasks; steps not yet started are pending.
   */
  static List<Pages.StepRow> steps(Pipeline p, List<TaskRecord> tasks) {
    Map<String, List<TaskRecord>> byStep = new LinkedHashMap<>();
    if (p != null) {
      p.steps().keySet().forEach(id -> byStep.put(id, new ArrayList<>()));
    }
    for (TaskRecord t : tasks) {
      byStep.computeIfAbsent(stepOf(t.stepId()), k -> new ArrayList<>()).add(t);
    }
    List<Pages.StepRow> rows = new ArrayList<>(byStep.size());
    byStep.forEach(
        (id, ts) ->
            rows.add(
                new Pages.StepRow(
                    id,
                    ts.isEmpty()
                        ? "pending"
                        : StepStatus.overTasks(ts.stream().map(TaskRecord::status).toList()).db(),
                    Collections.unmodifiableList(ts))));
    return rows;
  }

  private final Map<String, Pipeline> pipelines = new ConcurrentHashMap<>();

  /** The pipeline of a stored version, parsed once; null when it no longer parses. */
  private Pipeline pipeline(String version) {
    Pipeline cached = pipelines.get(version);
    if (cached != null) {
      return cached;
    }
    String source = engine.store().pipelineSource(version).orElse(null);
    if (source == null) {
      return null;
    }
    ParseResult r = PipelineParser.parse("pipeline.yaml", source);
    if (!r.ok()) {
      return null;
    }
    if (pipelines.size() >= CACHED_LAYOUTS) {
      pipelines.clear();
    }
    pipelines.put(version, r.pipeline());
    return r.pipeline();
  }

  /** The layout of a pipeline version, computed once; without the pipeline, tasks in a column. */
  private DagLayout layout(String version, Pipeline p, List<Pages.StepRow> steps) {
    if (p == null) {
      return DagLayout.of(steps.stream().map(Pages.StepRow::id).toList(), Map.of());
    }
    DagLayout l = layouts.get(version);
    if (l == null) {
      Dag dag = Dag.of(p);
      Map<String, List<String>> needs = new LinkedHashMap<>();
      for (String id : dag.order()) {
        needs.put(id, dag.needs(id));
      }
      l = DagLayout.of(dag.order(), needs);
      if (layouts.size() >= CACHED_LAYOUTS) {
        layouts.clear();
      }
      layouts.put(version, l);
    }
    return l;
  }
}
