package dev.kiln.steps.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The predict API every flavour answers, on Vert.x: {@code POST /predict} with {@code {"rows":
 * [...]}} gives {@code {"predictions": [...], "probabilities": [...]}} and the header {@value
 * #VERSION_HEADER}; {@code GET /health}. The body is read as JSON whatever its Content-Type (curl's
 * {@code -d} labels it a form). Rows are checked against the model's signature first; every problem
 * is a 4xx with {@code {"error": ..., "status": N}}.
 */
final class PredictServer implements AutoCloseable {
  static final String VERSION_HEADER = "Kiln-Model-Version";
  static final long MAX_BODY = 10L * 1024 * 1024;
  private static final Logger log = LoggerFactory.getLogger(PredictServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Vertx vertx;
  private final HttpServer server;

  private PredictServer(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  /** Starts serving on host:port (port 0 = any free one); fails when the port is taken. */
  static PredictServer start(ModelInfo info, ServedModel model, String host, int port)
      throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setWorkerPoolSize(8));
    Router router = Router.router(vertx);
    router
        .get("/health")
        .handler(
            ctx -> {
              Map<String, Object> body = new LinkedHashMap<>();
              body.put("status", "ok");
              body.put("model", info.name());
              body.put("version", info.version());
              reply(ctx, 200, body, info);
            });
    router.post("/predict").handler(RawBody::read);
    router.post("/predict").blockingHandler(ctx -> predict(ctx, info, model), false);
    router.route().failureHandler(ctx -> failed(ctx, ctx.statusCode(), info));
    router.errorHandler(404, ctx -> failed(ctx, 404, info));
    router.errorHandler(405, ctx -> failed(ctx, 405, info));
    try {
      HttpServer server =
          vertx
              .createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
              .requestHandler(router)
              .listen()
              .toCompletionStage()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      return new PredictServer(vertx, server);
    } catch (Exception e) {
      vertx.close();
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          "cannot listen on " + host + ":" + port + ": " + cause.getMessage(), cause);
    }
  }

  int port() {
    return server.actualPort();
  }

  private static void predict(RoutingContext ctx, ModelInfo info, ServedModel model) {
    Object body;
    try {
      body = JSON.readValue(RawBody.of(ctx).getBytes(), Object.class);
    } catch (IOException e) {
      reply(ctx, 400, error(400, "the body is not JSON: " + firstLine(e)), info);
      return;
    }
    if (!(body instanceof Map<?, ?> m) || !(m.get("rows") instanceof List<?> rows)) {
      reply(ctx, 400, error(400, "the body must be {\"rows\": [{column: value, ...}, ...]}"), info);
      return;
    }
    if (rows.isEmpty()) {
      reply(ctx, 400, error(400, "rows is empty"), info);
      return;
    }
    try {
      model.signature().check(rows);
    } catch (Signature.BadRow e) {
      reply(ctx, 400, error(400, e.getMessage()), info);
      return;
    }
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> checked = (List<Map<String, Object>>) rows;
    ServedModel.Result r = model.predict(checked);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("predictions", r.predictions());
    if (r.probabilities() != null) {
      out.put("probabilities", r.probabilities());
    }
    reply(ctx, 200, out, info);
  }

  private static void failed(RoutingContext ctx, int code, ModelInfo info) {
    int status = code < 0 ? 500 : code;
    String message =
        switch (status) {
          case 413 -> "request body over " + MAX_BODY / (1024 * 1024) + " MB";
          case 400 ->
              "the request could not be read"
                  + (ctx.failure() == null ? "" : ": " + ctx.failure().getMessage());
          case 404 -> "no route " + ctx.request().method() + " " + ctx.request().path();
          case 405 ->
              "method " + ctx.request().method() + " not allowed on " + ctx.request().path();
          default -> "internal error";
        };
    if (status >= 500) {
      log.error("{} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
    }
    reply(ctx, status, error(status, message), info);
  }

  private static String firstLine(Exception e) {
    String m = e.getMessage() == null ? "empty body" : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  static Map<String, Object> error(int status, String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    m.put("status", status);
    return m;
  }

  private static void reply(RoutingContext ctx, int status, Object body, ModelInfo info) {
    String text;
    try {
      text = JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      status = 500;
      text = "{\"error\":\"cannot write the answer as JSON\",\"status\":500}";
    }
    if (ctx.response().ended()) {
      return;
    }
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .putHeader(VERSION_HEADER, String.valueOf(info.version()))
        .end(text);
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("the predict server did not close cleanly: {}", e.toString());
    }
  }
}
