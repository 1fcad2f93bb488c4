package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.open;
import static dev.kiln.engine.server.Routes.route;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.run.Summary;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import dev.kiln.engine.trigger.WebhookAuth;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;

/**
 * The HTTP endpoints, declared in one route table with the role each needs: webhooks, the manual
 * run API, run status and health. Every answer is JSON; bad input gets its HTTP status and a
 * one-line {@code error} that names the field, and leaves nothing in the store.
 */
final class HttpApi {
  static final int MAX_BODY = 1024 * 1024;
  private final Engine engine;
  private final PipelineRegistry registry;
  private final RunStarter starter;
  private final Map<String, String> env;
  private final String baseDir;
  private final Routes.Guard guard;

  HttpApi(
      Engine engine,
      PipelineRegistry registry,
      RunStarter starter,
      Map<String, String> env,
      String baseDir,
      Routes.Guard guard) {
    this.engine = engine;
    this.guard = guard;
    this.registry = registry;
    this.starter = starter;
    this.env = env;
    this.baseDir = baseDir;
  }

  /** The route table: every route with its role (docs/security.md). */
  List<Route> routes() {
    return List.of(
        open(
            POST,
            "/hooks/{path}",
            "a webhook authenticates itself (secret_env, token_env or auth: none)",
            this::hook),
        route(POST, "/api/pipelines/{name}/runs", Role.OPERATOR, this::startRun),
        route(GET, "/api/runs/{id}", Role.VIEWER, this::run),
        // One FeatureApi for every request: it caches resolved feature services.
        route(GET, "/api/features/online", Role.VIEWER, new FeatureApi(engine)::online),
        open(GET, "/health", "liveness only: it says ok and nothing else", e -> health()));
  }

  RouteBuilder camelRoutes() {
    return new Routes(routes(), guard).camelRoutes();
  }

  private Reply hook(Exchange e) throws InvalidRequest {
    String path = e.getIn().getHeader("path", String.class);
    PipelineRegistry.Hook hook = registry.hook(path);
    if (hook == null) {
      throw new InvalidRequest(404, "no webhook at /hooks/" + path);
    }
    byte[] body = body(e);
    var verdict =
        WebhookAuth.check(
            hook.trigger(),
            body,
            new WebhookAuth.Headers(
                e.getIn().getHeader("X-Hub-Signature-256", String.class),
                e.getIn().getHeader("Authorization", String.class),
                e.getIn().getHeader("X-Kiln-Timestamp", String.class)),
            env,
            Instant.now().getEpochSecond());
    if (!verdict.ok()) {
      throw new InvalidRequest(verdict.status(), "webhook '" + path + "': " + verdict.reason());
    }
    Pipeline p = registry.pipeline(hook.pipeline());
    JsonNode json =
        parse(HookBody.json(path, e.getIn().getHeader(HookBody.RECEIVED_TYPE, String.class), body));
    Map<String, Object> params = TriggerParams.fromWebhook(p, hook.trigger(), json);
    String delivery = deliveryId(e);
    String key = delivery == null ? null : "webhook:" + p.name() + ":" + path + ":" + delivery;
    return started(starter.start(new RunStarter.Request(p, params, "webhook", baseDir, null, key)));
  }

  private Reply startRun(Exchange e) throws InvalidRequest {
    String name = e.getIn().getHeader("name", String.class);
    Pipeline p = registry.pipeline(name);
    if (p == null) {
      throw new InvalidRequest(404, "no pipeline '" + name + "' on this server");
    }
    byte[] body = body(e);
    Map<String, Object> params = TriggerParams.fromJson(p, body.length == 0 ? null : parse(body));
    String delivery = deliveryId(e);
    String key = delivery == null ? null : "api:" + p.name() + ":" + delivery;
    return started(starter.start(new RunStarter.Request(p, params, "api", baseDir, null, key)));
  }

  private Reply run(Exchange e) throws InvalidRequest {
    String id = e.getIn().getHeader("id", String.class);
    long runId;
    try {
      runId = Long.parseLong(id);
    } catch (NumberFormatException ex) {
      throw new InvalidRequest(400, "run id must be a number, got '" + id + "'");
    }
    var run =
        engine.store().run(runId).orElseThrow(() -> new InvalidRequest(404, "no run " + runId));
    Pipeline p = registry.pipeline(run.pipeline());
    if (p != null && !p.source().version().equals(run.pipelineVersion())) {
      p = null; // another version: list the steps in the order they were stored
    }
    return new Reply(200, Summary.map(run, engine.store().tasks(runId), p));
  }

  private static Reply health() {
    return new Reply(200, Map.of("status", "ok"));
  }

  private static Reply started(RunStarter.Outcome outcome) {
    if (outcome instanceof RunStarter.Outcome.Started s) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("run_id", s.runId());
      if (!s.created()) {
        m.put("duplicate", true);
      }
      return new Reply(202, m);
    }
    return Routes.error(409, ((RunStarter.Outcome.Skipped) outcome).reason());
  }

  private static byte[] body(Exchange e) throws InvalidRequest {
    byte[] body = e.getIn().getBody(byte[].class);
    if (body == null) {
      return new byte[0];
    }
    if (body.length > MAX_BODY) {
      throw new InvalidRequest(413, "request body is larger than 1 MiB");
    }
    return body;
  }

  private static JsonNode parse(byte[] body) throws InvalidRequest {
    if (body.length == 0) {
      return Json.MAPPER.createObjectNode();
    }
    try {
      return Json.MAPPER.readTree(body);
    } catch (JsonProcessingException ex) {
      throw new InvalidRequest(400, "invalid JSON body: " + ex.getOriginalMessage());
    } catch (IOException ex) {
      throw new InvalidRequest(400, "invalid JSON body: " + ex.getMessage());
    }
  }

  private static String deliveryId(Exchange e) throws InvalidRequest {
    String id = e.getIn().getHeader("X-GitHub-Delivery", String.class);
    if (id == null) {
      id = e.getIn().getHeader("Idempotency-Key", String.class);
    }
    if (id != null && (id.isBlank() || id.length() > 200)) {
      throw new InvalidRequest(400, "delivery id header must be 1 to 200 characters");
    }
    return id;
  }
}
