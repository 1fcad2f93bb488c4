package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunEvent;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.task.RunNotFoundException;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.trigger.InvalidRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.camel.Exchange;

/**
 * Runs over HTTP: the list (keyset pages), cancel, retry, tags, compare, events, a task's attempts
 * and log (text, JSON pages, server-sent events; served by {@link LogsApi}), metrics and artifacts.
 */
final class RunsApi {
  static final int MAX_LIMIT = 500;
  private static final Set<String> STATUSES =
      Set.of("queued", "running", "succeeded", "failed", "cancelled");
  private static final String CURSOR_PREFIX = "runs-before:";

  private final Engine engine;
  private final RunQueries queries;
  private final LogsApi logs;

  RunsApi(Engine engine) {
    this.engine = engine;
    this.queries = engine == null ? null : new RunQueries(engine.db());
    this.logs = new LogsApi(engine, queries);
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/api/runs", Role.VIEWER, this::list),
        route(POST, "/api/runs/{id}/cancel", Role.OPERATOR, this::cancel),
        route(POST, "/api/runs/{id}/retry", Role.OPERATOR, this::retry),
        route(POST, "/api/runs/{id}/tags", Role.OPERATOR, this::tag),
        route(GET, "/api/runs/{id}/compare", Role.VIEWER, this::compare),
        route(GET, "/api/runs/{id}/events", Role.VIEWER, this::events),
        route(GET, "/api/runs/{id}/metrics", Role.VIEWER, this::metrics),
        route(GET, "/api/runs/{id}/tasks/{task}/attempts", Role.VIEWER, logs::attempts),
        route(GET, "/api/runs/{id}/logs/{task}", Role.VIEWER, logs::logs),
        route(GET, "/api/runs/{id}/artifacts", Role.VIEWER, this::artifacts),
        route(GET, "/api/runs/{id}/artifacts/{step}/{name}", Role.VIEWER, this::download));
  }

  private Reply list(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    String status = r.query("status");
    if (status != null && !STATUSES.contains(status)) {
      throw new InvalidRequest(
          400, "query parameter 'status' must be one of " + new TreeSet<>(STATUSES));
    }
    int limit = r.queryInt("limit", 50, 1, MAX_LIMIT);
    Long before = decodeCursor(r.query("cursor"));
    Map<String, String> tags = tags(r.query("tag"));
    RunQueries.Page page =
        queries.runs(
            new RunQueries.Filter(
                r.query("pipeline"),
                status == null ? null : RunStatus.of(status),
                tags,
                null,
                before,
                limit));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("runs", page.runs().stream().map(RunsApi::summary).toList());
    out.put("next", page.next() == null ? null : encodeCursor(page.next()));
    return new Reply(200, out);
  }

  /** {@code tag=k:v,k2:v2} (or {@code k=v}): runs having all of them. */
  private static Map<String, String> tags(String spec) throws InvalidRequest {
    Map<String, String> tags = new TreeMap<>();
    if (spec == null) {
      return tags;
    }
    for (String kv : spec.split(",")) {
      int sep = kv.indexOf(':') >= 0 ? kv.indexOf(':') : kv.indexOf('=');
      if (sep <= 0) {
        throw new InvalidRequest(
            400, "query parameter 'tag' must be KEY:VALUE[,KEY:VALUE...], got '" + spec + "'");
      }
      tags.put(kv.substring(0, sep), kv.substring(sep + 1));
    }
    return tags;
  }

  static String encodeCursor(long before) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString((CURSOR_PREFIX + before).getBytes(StandardCharsets.UTF_8));
  }

  static Long decodeCursor(String cursor) throws InvalidRequest {
    if (cursor == null) {
      return null;
    }
    try {
      String s = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      if (s.startsWith(CURSOR_PREFIX)) {
        long id = Long.parseLong(s.substring(CURSOR_PREFIX.length()));
        if (id > 0) {
          return id;
        }
      }
    } catch (IllegalArgumentException ignored) {
      // not one of ours: reported below
    }
    throw new InvalidRequest(
        400, "query parameter 'cursor' is not a cursor this server gave (use the 'next' value)");
  }

  static Map<String, Object> summary(RunRecord r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run_id", r.id());
    m.put("pipeline", r.pipeline());
    m.put("status", r.status().db());
    m.put("trigger", r.trigger());
    m.put("tags", r.tags());
    m.put("retry_of", r.retryOf());
    m.put("created_at", time(r.createdAt()));
    m.put("started_at", time(r.startedAt()));
    m.put("finished_at", time(r.finishedAt()));
    m.put(
        "duration_seconds",
        r.startedAt() == null || r.finishedAt() == null
            ? null
            : Duration.between(r.startedAt(), r.finishedAt()).toMillis() / 1000.0);
    return m;
  }

  static String time(Instant t) {
    return t == null ? null : t.toString();
  }

  private RunRecord run(Request r) throws InvalidRequest {
    return run(engine, r);
  }

  /** The run of the request's {@code id}, or 404. */
  static RunRecord run(Engine engine, Request r) throws InvalidRequest {
    long id = r.pathLong("id");
    return engine.store().run(id).orElseThrow(() -> new InvalidRequest(404, "no run " + id));
  }

  private Reply cancel(Exchange e) throws InvalidRequest {
    long id = Request.of(e).pathLong("id");
    RunService.CancelResult result = engine.runs().cancel(id);
    return switch (result) {
      case NOT_FOUND -> throw new InvalidRequest(404, "no run " + id);
      case ALREADY_FINISHED ->
          throw new InvalidRequest(
              409,
              "run "
                  + id
                  + " already finished ("
                  + engine.store().run(id).map(x -> x.status().db()).orElse("?")
                  + ")");
      case CANCELLED -> new Reply(200, Map.of("run_id", id, "status", "cancelled"));
    };
  }

  private Reply retry(Exchange e) throws InvalidRequest {
    long id = Request.of(e).pathLong("id");
    try {
      long newId = engine.runs().retry(id);
      return new Reply(202, Map.of("run_id", newId, "retry_of", id));
    } catch (RunNotFoundException ex) {
      throw new InvalidRequest(404, "no run " + id);
    } catch (IllegalStateException ex) {
      throw new InvalidRequest(409, ex.getMessage());
    }
  }

  /** Body {@code {"set": {"k": "v"}, "remove": ["k2"]}}: the run's tags afterwards. */
  private Reply tag(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    long id = r.pathLong("id");
    JsonNode body = r.jsonBody();
    Map<String, String> set = new LinkedHashMap<>();
    JsonNode s = body.path("set");
    if (!s.isMissingNode() && !s.isObject()) {
      throw new InvalidRequest(400, "'set' must be an object of tag names to text values");
    }
    for (var it = s.fields(); it.hasNext(); ) {
      var f = it.next();
      if (!f.getValue().isValueNode() || f.getValue().isNull()) {
        throw new InvalidRequest(400, "'set." + f.getKey() + "' must be a text value");
      }
      set.put(f.getKey(), f.getValue().asText());
    }
    List<String> remove = new ArrayList<>();
    JsonNode rm = body.path("remove");
    if (!rm.isMissingNode() && !rm.isArray()) {
      throw new InvalidRequest(400, "'remove' must be an array of tag names");
    }
    rm.forEach(n -> remove.add(n.asText()));
    if (set.isEmpty() && remove.isEmpty()) {
      throw new InvalidRequest(400, "the body needs 'set' or 'remove'");
    }
    if (!engine.experiments().tag(id, set, remove)) {
      throw new InvalidRequest(404, "no run " + id);
    }
    return new Reply(200, Map.of("run_id", id, "tags", engine.experiments().tags(id)));
  }

  /** {@code ?with=2,3}: runs side by side, params, tags and each metric's last value. */
  private Reply compare(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    List<Long> ids = new ArrayList<>();
    ids.add(r.pathLong("id"));
    String with = r.query("with");
    if (with == null) {
      throw new InvalidRequest(400, "query parameter 'with' is required: run ids, comma-separated");
    }
    for (String s : with.split(",")) {
      try {
        long id = Long.parseLong(s.trim());
        if (id <= 0) {
          throw new NumberFormatException();
        }
        ids.add(id);
      } catch (NumberFormatException ex) {
        throw new InvalidRequest(
            400, "query parameter 'with' must be run ids, comma-separated, got '" + with + "'");
      }
    }
    if (ids.size() > 20) {
      throw new InvalidRequest(400, "query parameter 'with' names more than 19 runs");
    }
    List<Map<String, Object>> runs = new ArrayList<>();
    for (long id : ids) {
      RunRecord run =
          engine.store().run(id).orElseThrow(() -> new InvalidRequest(404, "no run " + id));
      Map<String, Object> m = summary(run);
      m.put("params", run.params());
      m.put("metrics", engine.models().runMetrics(id));
      runs.add(m);
    }
    return new Reply(200, Map.of("runs", runs));
  }

  private Reply events(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    RunRecord run = run(r);
    Long after = r.queryLong("after");
    List<Map<String, Object>> out = new ArrayList<>();
    for (RunEvent ev : engine.store().events(run.id(), after == null ? 0 : after)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", ev.id());
      m.put("step", ev.stepId());
      m.put("status", ev.status());
      m.put("detail", ev.detail());
      m.put("at", time(ev.at()));
      out.add(m);
    }
    return new Reply(200, Map.of("events", out));
  }

  private Reply metrics(Exchange e) throws InvalidRequest {
    RunRecord run = run(Request.of(e));
    return new Reply(200, Map.of("run_id", run.id(), "metrics", engine.store().metrics(run.id())));
  }

  private Reply artifacts(Exchange e) throws InvalidRequest {
    RunRecord run = run(Request.of(e));
    List<Map<String, Object>> out = new ArrayList<>();
    for (RunQueries.Artifact a : queries.artifacts(run.id())) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", a.step());
      m.put("name", a.name());
      m.put("sha256", a.sha256());
      m.put("size", a.size());
      m.put("kind", a.kind());
      out.add(m);
    }
    return new Reply(200, Map.of("run_id", run.id(), "artifacts", out));
  }

  private Reply download(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    RunRecord run = run(r);
    return ArtifactDownload.of(
        engine.artifacts(), queries, run.id(), r.path("step"), r.path("name"));
  }
}
