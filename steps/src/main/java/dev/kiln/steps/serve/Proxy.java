package dev.kiln.steps.serve;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.Json;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

/**
 * The stable address of a deployment: forwards every request to the container serving now. A swap
 * points new requests at the new container and then waits until the old one has answered every
 * request it was given, so no request fails because its container was stopped under it.
 */
final class Proxy implements AutoCloseable {
  private static final Set<String> HOP =
      Set.of("host", "content-length", "connection", "keep-alive", "transfer-encoding");

  /** A container behind the proxy and the requests it is answering now. */
  static final class Backend {
    final ServingContainers.Running container;
    final AtomicInteger inFlight = new AtomicInteger();

    Backend(ServingContainers.Running container) {
      this.container = container;
    }
  }

  /** Told of every answered predict request, on the event loop: must not block. */
  @FunctionalInterface
  interface Tap {
    void predicted(Backend b, String requestId, Buffer request, Buffer response);
  }

  static final String REQUEST_ID_HEADER = "Kiln-Request-Id";
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private final Vertx vertx;
  private final HttpServer server;
  private final HttpClient client;
  private final Tap tap;
  private final AtomicReference<Backend> current = new AtomicReference<>();

  private Proxy(Vertx vertx, HttpServer server, HttpClient client, Tap tap) {
    this.vertx = vertx;
    this.server = server;
    this.client = client;
    this.tap = tap;
  }

  static Proxy start(String host, int port) throws ServeException {
    return start(host, port, (b, id, request, response) -> {});
  }

  /** Listens on host:port; every 200 answer of POST /predict is also given to tap. */
  static Proxy start(String host, int port, Tap tap) throws ServeException {
    Vertx vertx = Vertx.vertx();
    HttpClient client =
        vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(64).setKeepAlive(true));
    Router router = Router.router(vertx);
    Proxy[] self = new Proxy[1];
    router.route().handler(RawBody::read);
    router.route().handler(ctx -> self[0].forward(ctx));
    router
        .route()
        .failureHandler(
            ctx -> {
              int status = ctx.statusCode() < 0 ? 500 : ctx.statusCode();
              String why = ctx.failure() == null ? "" : ": " + ctx.failure().getMessage();
              reply(
                  ctx,
                  status,
                  switch (status) {
                    case 413 ->
                        "request body over " + PredictServer.MAX_BODY / (1024 * 1024) + " MB";
                    case 400 -> "the request could not be read" + why;
                    default -> "the proxy failed" + why;
                  });
            });
    try {
      HttpServer server =
          vertx
              .createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
              .requestHandler(router)
              .listen()
              .toCompletionStage()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      self[0] = new Proxy(vertx, server, client, tap);
      return self[0];
    } catch (Exception e) {
      vertx.close();
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new ServeException("cannot listen on " + host + ":" + port + ": " + cause.getMessage());
    }
  }

  int port() {
    return server.actualPort();
  }

  Backend current() {
    return current.get();
  }

  /** Sends new requests to next; returns the previous backend (null if none). */
  Backend switchTo(ServingContainers.Running next) {
    return current.getAndSet(new Backend(next));
  }

  /** Waits until the backend has answered every request it was given, or time runs out. */
  static boolean drain(Backend b, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (b.inFlight.get() > 0) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  /** The current backend with one more request counted, checked again after counting. */
  private Backend acquire() {
    while (true) {
      Backend b = current.get();
      if (b == null) {
        return null;
      }
      b.inFlight.incrementAndGet();
      if (current.get() == b) {
        return b;
      }
      b.inFlight.decrementAndGet();
    }
  }

  private void forward(RoutingContext ctx) {
    Backend b = acquire();
    if (b == null) {
      reply(ctx, 503, "no version is serving yet");
      return;
    }
    // The caller's id when it sent a usable one (late labels join on it), else a new one.
    String given = ctx.request().getHeader(REQUEST_ID_HEADER);
    String requestId =
        given != null && REQUEST_ID.matcher(given).matches() ? given : UUID.randomUUID().toString();
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    ctx.request()
        .headers()
        .forEach(
            h -> {
              if (!HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                headers.add(h.getKey(), h.getValue());
              }
            });
    headers.set(REQUEST_ID_HEADER, requestId);
    Buffer body = RawBody.of(ctx);
    client
        .request(
            new RequestOptions()
                .setMethod(ctx.request().method())
                .setHost(b.container.host())
                .setPort(b.container.port())
                .setURI(ctx.request().uri())
                .setHeaders(headers)
                .setIdleTimeout(60_000))
        .compose(req -> req.send(body))
        .compose(resp -> resp.body().map(buf -> new Object[] {resp, buf}))
        .onComplete(
            ar -> {
              b.inFlight.decrementAndGet();
              if (ar.failed()) {
                reply(ctx, 502, "the serving container did not answer: " + ar.cause().getMessage());
                return;
              }
              var resp = (HttpClientResponse) ar.result()[0];
              Buffer buf = (Buffer) ar.result()[1];
              var out = ctx.response().setStatusCode(resp.statusCode());
              out.putHeader(REQUEST_ID_HEADER, requestId);
              resp.headers()
                  .forEach(
                      h -> {
                        if (!HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                          out.putHeader(h.getKey(), h.getValue());
                        }
                      });
              out.end(buf);
              if (resp.statusCode() == 200
                  && ctx.request().method() == HttpMethod.POST
                  && "/predict".equals(ctx.request().path())) {
                tap.predicted(b, requestId, body, buf);
              }
            });
  }

  private static void reply(RoutingContext ctx, int status, String message) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(Json.encode(Map.of("error", message, "status", status)));
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("kiln deploy: the proxy did not close cleanly: " + e);
    }
  }
}
