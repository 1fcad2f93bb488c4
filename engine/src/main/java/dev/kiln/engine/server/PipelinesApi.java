package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.route;
import static dev.kiln.engine.server.RunsApi.time;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.trigger.CronScheduler;
import dev.kiln.engine.trigger.InvalidRequest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.camel.Exchange;

/** The pipelines this server hosts: list, detail, YAML, triggers with next cron times, firings. */
final class PipelinesApi {
  private final PipelineRegistry registry;
  private final RunQueries queries;

  PipelinesApi(Engine engine, PipelineRegistry registry) {
    this.registry = registry;
    this.queries = engine == null ? null : new RunQueries(engine.db());
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/api/pipelines", Role.VIEWER, this::list),
        route(GET, "/api/pipelines/{name}", Role.VIEWER, this::get),
        route(GET, "/api/pipelines/{name}/yaml", Role.VIEWER, this::yaml),
        route(GET, "/api/pipelines/{name}/triggers", Role.VIEWER, this::triggers),
        route(GET, "/api/pipelines/{name}/firings", Role.VIEWER, this::firings));
  }

  private Pipeline pipeline(Request r) throws InvalidRequest {
    String name = r.path("name");
    Pipeline p = registry.pipeline(name);
    if (p == null) {
      throw new InvalidRequest(404, "no pipeline '" + name + "' on this server");
    }
    return p;
  }

  private Reply list(Exchange e) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Pipeline p : registry.all().values()) {
      out.add(brief(p));
    }
    out.sort((a, b) -> String.valueOf(a.get("name")).compareTo(String.valueOf(b.get("name"))));
    return new Reply(200, Map.of("pipelines", out));
  }

  private static Map<String, Object> brief(Pipeline p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", p.name());
    m.put("description", p.description());
    m.put("version", p.source().version());
    m.put("file", p.source().file());
    m.put("steps", p.steps().size());
    m.put("triggers", p.triggers().stream().map(PipelinesApi::kind).toList());
    return m;
  }

  private Reply get(Exchange e) throws InvalidRequest {
    Pipeline p = pipeline(Request.of(e));
    Map<String, Object> m = brief(p);
    Map<String, Object> params = new LinkedHashMap<>();
    for (ParamSpec s : p.params().values()) {
      Map<String, Object> ps = new LinkedHashMap<>();
      ps.put("type", s.type().name().toLowerCase(Locale.ROOT));
      ps.put("default", s.defaultValue());
      ps.put("description", s.description());
      ps.put("required", s.required());
      params.put(s.name(), ps);
    }
    m.put("params", params);
    List<Map<String, Object>> steps = new ArrayList<>();
    for (Step s : p.steps().values()) {
      steps.add(Map.of("id", s.id(), "needs", s.needs()));
    }
    m.put("steps", steps);
    m.put("concurrency", p.concurrency().name().toLowerCase(Locale.ROOT));
    return new Reply(200, m);
  }

  private Reply yaml(Exchange e) throws InvalidRequest {
    Pipeline p = pipeline(Request.of(e));
    return Reply.text(200, "application/yaml; charset=utf-8", p.source().text());
  }

  /** {@code ?count=N} next fire times of each cron trigger (default 5, at most 100). */
  private Reply triggers(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    Pipeline p = pipeline(r);
    int count = r.queryInt("count", 5, 1, 100);
    Instant now = Instant.now();
    List<Map<String, Object>> out = new ArrayList<>();
    for (Trigger t : p.triggers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("kind", kind(t));
      if (t instanceof Trigger.Cron c) {
        m.put("expression", c.expression());
        m.put("timezone", c.timezone() == null ? "UTC" : c.timezone());
        m.put("catchup", CronScheduler.catchup(c));
        List<Instant> next =
            CronScheduler.fireTimes(c, now, now.plus(3660, ChronoUnit.DAYS), count);
        m.put("next", next.stream().limit(count).map(Instant::toString).toList());
      } else if (t instanceof Trigger.Webhook w) {
        m.put("path", "/hooks/" + w.path());
        m.put("auth", w.secretEnv() != null ? "hmac" : w.tokenEnv() != null ? "token" : "none");
        m.put("require_timestamp", w.requireTimestamp());
      } else if (t instanceof Trigger.Files f) {
        m.put("dir", f.dir());
        m.put("glob", f.glob());
      }
      out.add(m);
    }
    return new Reply(200, Map.of("pipeline", p.name(), "triggers", out));
  }

  private Reply firings(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    String name = r.path("name");
    if (registry.pipeline(name) == null) {
      throw new InvalidRequest(404, "no pipeline '" + name + "' on this server");
    }
    int limit = r.queryInt("limit", 50, 1, RunsApi.MAX_LIMIT);
    List<Map<String, Object>> out = new ArrayList<>();
    for (RunQueries.Firing f : queries.firings(name, limit)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("trigger", f.trigger());
      m.put("at", time(f.at()));
      m.put("run_id", f.runId());
      m.put("status", f.status());
      m.put("skipped", f.reason());
      out.add(m);
    }
    return new Reply(200, Map.of("pipeline", name, "firings", out));
  }

  private static String kind(Trigger t) {
    if (t instanceof Trigger.Cron) {
      return "cron";
    }
    return t instanceof Trigger.Webhook ? "webhook" : "files";
  }
}
