package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;
import static dev.kiln.engine.server.RunsApi.time;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.AliasEvent;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/**
 * The model registry over HTTP: models, versions with metrics, aliases and their history, lineage,
 * and (admins only) promote and roll back, audited under the token's name.
 */
final class ModelsApi {
  /** Who a request's token belongs to, for the audit of alias moves. */
  @FunctionalInterface
  interface Who {
    String of(String authorization) throws InvalidRequest;
  }

  private final Engine engine;
  private final Who who;

  ModelsApi(Engine engine, Who who) {
    this.engine = engine;
    this.who = who;
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/api/models", Role.VIEWER, this::list),
        route(GET, "/api/models/{name}", Role.VIEWER, this::get),
        route(GET, "/api/models/{name}/versions/{version}", Role.VIEWER, this::version),
        route(GET, "/api/models/{name}/versions/{version}/lineage", Role.VIEWER, this::lineage),
        route(GET, "/api/models/{name}/aliases/{alias}/history", Role.VIEWER, this::history),
        route(POST, "/api/models/{name}/aliases/{alias}", Role.ADMIN, this::promote),
        route(POST, "/api/models/{name}/aliases/{alias}/rollback", Role.ADMIN, this::rollback));
  }

  private ModelRegistry models() {
    return engine.models();
  }

  private String model(Request r) throws InvalidRequest {
    String name = r.path("name");
    if (!models().exists(name)) {
      throw new InvalidRequest(404, "no model '" + name + "'");
    }
    return name;
  }

  private ModelVersion modelVersion(Request r) throws InvalidRequest {
    String name = model(r);
    long v = r.pathLong("version");
    return models()
        .get(name, (int) Math.min(v, Integer.MAX_VALUE))
        .orElseThrow(() -> new InvalidRequest(404, "model '" + name + "' has no version " + v));
  }

  private Reply list(Exchange e) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (var m : models().models()) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("name", m.getKey());
      one.put("versions", m.getValue());
      one.put("aliases", models().aliases(m.getKey()));
      out.add(one);
    }
    return new Reply(200, Map.of("models", out));
  }

  private Reply get(Exchange e) throws InvalidRequest {
    String name = model(Request.of(e));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", name);
    out.put("aliases", models().aliases(name));
    out.put("versions", models().versions(name).stream().map(ModelsApi::version).toList());
    return new Reply(200, out);
  }

  static Map<String, Object> version(ModelVersion v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", v.name());
    m.put("version", v.version());
    m.put("metrics", v.metrics());
    m.put("params", v.params());
    m.put("tags", v.tags());
    m.put("run_id", v.runId());
    m.put("step", v.stepId());
    m.put("pipeline", v.pipeline());
    m.put("artifact", Map.of("sha256", v.artifactSha256(), "size", v.artifactSize()));
    m.put("created_by", v.createdBy());
    m.put("created_at", time(v.createdAt()));
    return m;
  }

  private Reply version(Exchange e) throws InvalidRequest {
    return new Reply(200, version(modelVersion(Request.of(e))));
  }

  /** Model -> run -> pipeline version, git commit, datasets read, image digests. */
  private Reply lineage(Exchange e) throws InvalidRequest {
    ModelVersion v = modelVersion(Request.of(e));
    Map<String, Object> out = version(v);
    if (v.runId() != null) {
      Map<String, Object> run = new LinkedHashMap<>();
      engine
          .store()
          .run(v.runId())
          .ifPresent(
              r -> {
                run.put("run_id", r.id());
                run.put("pipeline", r.pipeline());
                run.put("status", r.status().db());
                run.put("trigger", r.trigger());
              });
      run.put("pipeline_version", v.pipelineVersion());
      run.put("git_commit", v.gitCommit());
      List<Map<String, Object>> datasets = new ArrayList<>();
      for (DatasetVersion d : engine.datasets().readsOf(v.runId())) {
        datasets.add(DataApi.dataset(d));
      }
      run.put("datasets", datasets);
      run.put("images", models().imageDigests(v.runId()));
      out.put("run", run);
    } else {
      out.put("run", null);
    }
    return new Reply(200, out);
  }

  private Reply history(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    String name = model(r);
    String alias = r.path("alias");
    List<AliasEvent> events;
    try {
      events = models().history(name, alias);
    } catch (RegistryException ex) {
      throw new InvalidRequest(400, ex.getMessage());
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (AliasEvent ev : events) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("from_version", ev.fromVersion());
      m.put("to_version", ev.toVersion());
      m.put("who", ev.who());
      m.put("why", ev.why());
      m.put("at", time(ev.at()));
      out.add(m);
    }
    if (out.isEmpty() && !models().aliases(name).containsKey(alias)) {
      throw new InvalidRequest(404, "model '" + name + "' has no alias '" + alias + "'");
    }
    return new Reply(200, Map.of("name", name, "alias", alias, "history", out));
  }

  /** Body {@code {"version": N, "reason": "..."}}: points the alias at version N. */
  private Reply promote(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    JsonNode body = r.jsonBody();
    JsonNode v = body.path("version");
    if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1) {
      throw new InvalidRequest(400, "'version' must be a positive whole number");
    }
    String name = model(r);
    if (models().get(name, v.asInt()).isEmpty()) {
      throw new InvalidRequest(404, "model '" + name + "' has no version " + v.asInt());
    }
    String who = this.who.of(e.getIn().getHeader("Authorization", String.class));
    try {
      ModelRegistry.Move m = models().promote(name, v.asInt(), r.path("alias"), who, reason(body));
      return new Reply(200, move(m));
    } catch (RegistryException ex) {
      throw new InvalidRequest(400, ex.getMessage());
    }
  }

  private Reply rollback(Exchange e) throws InvalidRequest {
    Request r = Request.of(e);
    JsonNode body = r.jsonBody();
    String name = model(r);
    String alias = r.path("alias");
    if (!models().aliases(name).containsKey(alias)) {
      throw new InvalidRequest(404, "model '" + name + "' has no alias '" + alias + "'");
    }
    String who = this.who.of(e.getIn().getHeader("Authorization", String.class));
    try {
      return new Reply(200, move(models().rollback(name, alias, who, reason(body))));
    } catch (RegistryException ex) {
      throw new InvalidRequest(409, ex.getMessage());
    }
  }

  private static String reason(JsonNode body) throws InvalidRequest {
    JsonNode why = body.path("reason");
    if (!why.isMissingNode() && !why.isNull() && !why.isTextual()) {
      throw new InvalidRequest(400, "'reason' must be text");
    }
    return why.isTextual() ? why.asText() : null;
  }

  private static Map<String, Object> move(ModelRegistry.Move m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("name", m.name());
    out.put("alias", m.alias());
    out.put("from_version", m.from());
    out.put("to_version", m.to());
    out.put("moved", m.moved());
    return out;
  }
}
