package dev.kiln.engine.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.cli.Summary;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import dev.kiln.engine.trigger.WebhookAuth;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoints, as Camel platform-http routes: webhooks, the manual run API, run status and
 * health. Every answer is JSON; bad input gets its HTTP status and a one-line {@code error} that
 * names the field, and leaves nothing in the store.
 */
final class HttpApi extends RouteBuilder {
  static final int MAX_BODY = 1024 * 1024;
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  private final Engine engine;
  private final PipelineRegistry registry;
  private final RunStarter starter;
  private final Map<String, String> env;
  private final String baseDir;

  HttpApi(
      Engine engine,
      PipelineRegistry registry,
      RunStarter starter,
      Map<String, String> env,
      String baseDir) {
    this.engine = engine;
    this.registry = registry;
    this.starter = starter;
    this.env = env;
    this.baseDir = baseDir;
  }

  @Override
  public void configure() {
    from("platform-http:/hooks/{path}?httpMethodRestrict=POST")
        .routeId("hooks")
        .process(e -> answer(e, () -> hook(e)));
    from("platform-http:/api/pipelines/{name}/runs?httpMethodRestrict=POST")
        .routeId("api-start")
        .process(e -> answer(e, () -> startRun(e)));
    from("platform-http:/api/runs/{id}?httpMethodRestrict=GET")
        .routeId("api-run")
        .process(e -> answer(e, () -> run(e)));
    FeatureApi features = new FeatureApi(engine);
    from("platform-http:/api/features/online?httpMethodRestrict=GET")
        .routeId("api-features-online")
        .process(e -> answer(e, () -> features.online(e)));
    from("platform-http:/health?httpMethodRestrict=GET")
        .routeId("health")
        .process(e -> answer(e, this::health));
  }

  record Reply(int status, Map<String, Object> json) {}

  @FunctionalInterface
  interface Handler {
    Reply handle() throws Exception;
  }

  private static void answer(Exchange e, Handler h) {
    Reply r;
    try {
      r = h.handle();
    } catch (InvalidRequest ex) {
      r = error(ex.status(), ex.getMessage());
    } catch (Exception ex) {
      log.error(
          "{} {} failed",
          e.getIn().getHeader(Exchange.HTTP_METHOD),
          e.getIn().getHeader(Exchange.HTTP_URI),
          ex);
      r = error(500, "internal error: " + ex.getMessage());
    }
    // Request headers must not be echoed back as response headers.
    e.getMessage().removeHeaders("*");
    e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, r.status());
    e.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
    e.getMessage().setBody(Json.write(r.json()) + "\n");
  }

  private static Reply error(int status, String message) {
    return new Reply(status, Map.of("error", message));
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
            e.getIn().getHeader("X-Hub-Signature-256", String.class),
            e.getIn().getHeader("Authorization", String.class),
            env);
    if (!verdict.ok()) {
      throw new InvalidRequest(verdict.status(), "webhook '" + path + "': " + verdict.reason());
    }
    Pipeline p = registry.pipeline(hook.pipeline());
    JsonNode json = parse(body);
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

  private Reply health() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", "ok");
    m.put("pipelines", registry.all().size());
    return new Reply(200, m);
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
    return error(409, ((RunStarter.Outcome.Skipped) outcome).reason());
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
    } catch (java.io.IOException ex) {
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
