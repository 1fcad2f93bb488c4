package dev.kiln.engine.server;

import static dev.kiln.engine.server.RunsApi.time;

import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/**
 * A run's task over HTTP: its attempts and its log (text, JSON pages, server-sent events). The
 * routes are in {@link RunsApi#routes()}.
 */
final class LogsApi {
  private final Engine engine;
  private final RunQueries queries;

  LogsApi(Engine engine, RunQueries queries) {
    this.engine = engine;
    this.queries = queries;
  }

  private RunRecord run(Request r) throws InvalidRequest {
    return RunsApi.run(engine, r);
  }

  private String task(Request r, RunRecord run) throws InvalidRequest {
    String task = r.path("task");
    if (!queries.hasTask(run.id(), task)) {
      throw new InvalidRequest(404, "run " + run.id() + " has no step or task '" + task + "'");
    }
    return task;
  }

  Reply attempts(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    RunRecord run = run(r);
    String task = task(r, run);
    List<Map<String, Object>> out = new ArrayList<>();
    for (RunQueries.Attempt a : queries.attempts(run.id(), task)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("task", a.task());
      m.put("attempt", a.attempt());
      m.put("worker", a.worker());
      m.put("status", a.status());
      m.put("started_at", time(a.startedAt()));
      m.put("finished_at", time(a.finishedAt()));
      m.put("exit_code", a.exitCode());
      m.put("error", a.error());
      out.add(m);
    }
    return new Reply(200, Map.of("run_id", run.id(), "task", task, "attempts", out));
  }

  /**
   * The log: text/plain streamed whole; {@code ?format=json} one page ({@code after}, {@code
   * limit}); {@code ?follow=true} server-sent events until the task is settled.
   */
  Reply logs(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    RunRecord run = run(r);
    String task = task(r, run);
    boolean follow = r.flag("follow");
    String format = r.query("format");
    if (format != null && !format.equals("text") && !format.equals("json")) {
      throw new InvalidRequest(400, "query parameter 'format' must be text or json");
    }
    Long afterParam = r.queryLong("after");
    long after = afterParam == null ? 0 : afterParam;
    if (follow) {
      String last = e.getIn().getHeader("Last-Event-ID", String.class);
      if (last != null && last.matches("\\d{1,18}")) {
        after = Long.parseLong(last);
      }
      String end = "event: end\ndata: {}\n\n";
      Routes.Streamed sse =
          new LogStream(
              queries,
              run.id(),
              task,
              RunQueries.LogQuery.page(after, LogStream.PAGE),
              true,
              l -> "id: " + l.id() + "\nevent: line\ndata: " + Json.write(line(l)) + "\n\n",
              end);
      return new Reply(
          200,
          sse,
          "text/event-stream",
          Map.of("Cache-Control", "no-cache", "X-Accel-Buffering", "no"));
    }
    if ("json".equals(format)) {
      int limit = r.queryInt("limit", LogStream.PAGE, 1, 10_000);
      List<LogLine> page = queries.logPage(run.id(), task, RunQueries.LogQuery.page(after, limit));
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("lines", page.stream().map(LogsApi::line).toList());
      out.put("next", page.size() < limit ? null : page.get(page.size() - 1).id());
      return new Reply(200, out);
    }
    return Reply.text(
        200,
        "text/plain; charset=utf-8",
        new LogStream(
            queries,
            run.id(),
            task,
            RunQueries.LogQuery.page(after, LogStream.PAGE),
            false,
            l -> l.line() + "\n",
            null));
  }

  private static Map<String, Object> line(LogLine l) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", l.id());
    m.put("task", l.stepId());
    m.put("attempt", l.attempt());
    m.put("stream", l.stream());
    m.put("line", l.line());
    m.put("at", time(l.at()));
    return m;
  }
}
