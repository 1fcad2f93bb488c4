package dev.kiln.engine.server;

import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.InvalidRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.vertx.HttpMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route table: every HTTP route with the least role it needs, and the one place where each
 * request is checked before its handler runs (token in the header only, role, JSON writes) and
 * where every answer and error takes its shape. A route under {@code /api/} cannot be written
 * without a role; an open route says why it is open.
 */
public final class Routes {
  private static final Logger log = LoggerFactory.getLogger(Routes.class);

  public enum Method {
    GET,
    POST
  }

  /**
   * An answer: a JSON value (a map or list), text, or a stream ({@link Streamed} or an {@link
   * InputStream}, written chunk by chunk as it is produced: artifacts, logs, server-sent events),
   * with its content type and any extra headers; or, for the web UI's pages, a {@link Body} that
   * writes its own content type and body.
   */
  public record Reply(int status, Object body, String contentType, Map<String, String> headers) {
    public Reply {
      headers = Map.copyOf(headers);
    }

    /** A JSON object. */
    public Reply(int status, Map<String, Object> json) {
      this(status, json, JSON, Map.of());
    }

    public static Reply of(int status, Body body) {
      return new Reply(status, body, null, Map.of());
    }

    static Reply json(int status, Object value) {
      return new Reply(status, value, JSON, Map.of());
    }

    static Reply text(int status, String contentType, Object body) {
      return new Reply(status, body, contentType, Map.of());
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> json() {
      return (Map<String, Object>) body;
    }
  }

  static final String JSON = "application/json";

  /** Where a streamed answer writes: each chunk is on its way to the client when it returns. */
  @FunctionalInterface
  public interface Sink {
    void write(byte[] chunk) throws IOException;
  }

  /**
   * An answer written as it is produced, on the request's worker thread, one chunk at a time: each
   * waits until the previous one was handed to the connection, so a slow reader slows the writer
   * instead of filling memory, and a reader that went away stops it (write fails).
   */
  @FunctionalInterface
  public interface Streamed {
    void writeTo(Sink out) throws IOException;
  }

  private static final Duration CHUNK_TIMEOUT = Duration.ofSeconds(60);

  /** Writes a non-JSON answer into the exchange (headers and body); the status is set already. */
  @FunctionalInterface
  public interface Body {
    void write(Exchange e) throws Exception;
  }

  @FunctionalInterface
  public interface Handler {
    Reply handle(Exchange e) throws Exception;
  }

  /** Decides whether a request's {@code Authorization} header may use a route of this role. */
  @FunctionalInterface
  public interface Guard {
    void require(String authorization, Role needed) throws InvalidRequest;

    /**
     * The check of a request to a route with a role. By default: the bearer token, and a write must
     * be JSON. The web UI's guard reads its session cookie and a CSRF token instead.
     */
    default void require(Exchange e, Route route) throws InvalidRequest {
      require(e.getIn().getHeader("Authorization", String.class), route.role());
      if (route.method() == Method.POST) {
        requireJson(e.getIn().getHeader(Exchange.CONTENT_TYPE, String.class));
      }
    }

    /** How a failed request is answered: the JSON error shape unless a guard says otherwise. */
    default Reply error(Exchange e, int status, String message) {
      return Routes.error(status, message);
    }
  }

  /**
   * One route. {@code role} is the least role a token needs; null only for an open route, whose
   * {@code openBecause} says how it is protected instead.
   */
  public record Route(Method method, String path, Role role, String openBecause, Handler handler) {
    public Route {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(handler, "handler");
      if ((role == null) == (openBecause == null)) {
        throw new IllegalArgumentException(path + ": a route has a role or is open, not both");
      }
      if (role == null && path.startsWith("/api/") && !path.startsWith(DOCS)) {
        throw new IllegalArgumentException(path + ": every /api/ route needs a role");
      }
    }

    public String id() {
      return method.name().toLowerCase(Locale.ROOT) + path.replaceAll("[^a-zA-Z0-9]+", "-");
    }
  }

  /**
   * The rendered API reference: static pages that hold no data (a browser cannot send a bearer
   * header when it opens a page); the document they show is fetched with the reader's token.
   */
  static final String DOCS = "/api/docs";

  /** A route that needs a token of at least {@code role}. */
  public static Route route(Method method, String path, Role role, Handler handler) {
    return new Route(method, path, Objects.requireNonNull(role, "role"), null, handler);
  }

  /** A route without a token; {@code because} says what protects it instead. */
  public static Route open(Method method, String path, String because, Handler handler) {
    return new Route(method, path, null, Objects.requireNonNull(because, "because"), handler);
  }

  /** Query parameters that would carry a credential: refused, tokens travel in the header only. */
  private static final Set<String> CREDENTIAL_PARAMS =
      Set.of(
          "token",
          "access_token",
          "api_key",
          "apikey",
          "auth",
          "authorization",
          "bearer",
          "kiln_token");

  private final List<Route> routes;
  private final Guard guard;

  public Routes(List<Route> routes, Guard guard) {
    this.routes = List.copyOf(routes);
    this.guard = guard;
  }

  public List<Route> all() {
    return routes;
  }

  /** The Camel platform-http routes of the table. */
  public RouteBuilder camelRoutes() {
    return new RouteBuilder() {
      @Override
      public void configure() {
        for (Route r : routes) {
          from("platform-http:" + r.path() + "?httpMethodRestrict=" + r.method())
              .routeId(r.id())
              .process(e -> serve(e, r));
        }
      }
    };
  }

  void serve(Exchange e, Route route) {
    Reply r;
    try {
      refuseCredentialsInQuery(e.getIn().getHeader(Exchange.HTTP_QUERY, String.class));
      if (route.role() != null) {
        guard.require(e, route);
      }
      r = route.handler().handle(e);
    } catch (InvalidRequest ex) {
      r = guard.error(e, ex.status(), ex.getMessage());
    } catch (Exception ex) {
      long id = ThreadLocalRandom.current().nextLong(100_000_000L, 1_000_000_000L);
      log.error(
          "internal error (id {}) answering {} {}",
          id,
          route.method(),
          e.getIn().getHeader(Exchange.HTTP_PATH, String.class),
          ex);
      r = guard.error(e, 500, "internal error, see the server log (id " + id + ")");
    }
    if (r.body() instanceof Streamed || r.body() instanceof InputStream) {
      stream(e, r);
      return;
    }
    // Request headers must not be echoed back as response headers.
    e.getMessage().removeHeaders("*");
    e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, r.status());
    if (r.body() instanceof Body b) {
      try {
        b.write(e);
      } catch (Exception ex) {
        log.error("cannot write the answer to {} {}", route.method(), route.path(), ex);
        e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 500);
        e.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain");
        e.getMessage().setBody("internal error\n");
      }
      return;
    }
    r.headers().forEach(e.getMessage()::setHeader);
    e.getMessage().setHeader(Exchange.CONTENT_TYPE, r.contentType());
    e.getMessage().setBody(JSON.equals(r.contentType()) ? Json.write(r.body()) + "\n" : r.body());
  }

  /** Writes a streamed answer straight to the connection; Camel sees it ended and adds nothing. */
  private static void stream(Exchange e, Reply r) {
    HttpServerResponse resp = e.getIn(HttpMessage.class).getResponse();
    Streamed body =
        r.body() instanceof Streamed s
            ? s
            : out -> {
              try (InputStream in = (InputStream) r.body()) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                  out.write(Arrays.copyOf(buf, n));
                }
              }
            };
    e.getMessage().removeHeaders("*");
    e.getMessage().setBody(null);
    resp.setStatusCode(r.status()).setChunked(true).putHeader("Content-Type", r.contentType());
    r.headers().forEach(resp::putHeader);
    try {
      body.writeTo(
          chunk -> {
            try {
              resp.write(Buffer.buffer(chunk))
                  .toCompletionStage()
                  .toCompletableFuture()
                  .get(CHUNK_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
              Thread.currentThread().interrupt();
              throw new IOException("interrupted", ex);
            } catch (ExecutionException | TimeoutException ex) {
              throw new IOException("the client went away: " + ex.getMessage(), ex);
            }
          });
      resp.end();
    } catch (IOException | RuntimeException ex) {
      // The status line is sent already: the client sees a cut-off answer, the log says why.
      log.info(
          "stopped streaming {}: {}", e.getIn().getHeader(Exchange.HTTP_PATH), ex.getMessage());
      resp.reset();
    }
  }

  /** The one error shape: {@code {"error": "...", "status": N}}. */
  public static Reply error(int status, String message) {
    return new Reply(status, errorBody(status, message));
  }

  static Map<String, Object> errorBody(int status, String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    m.put("status", status);
    return m;
  }

  static void refuseCredentialsInQuery(String query) throws InvalidRequest {
    if (query == null || query.isEmpty()) {
      return;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq)).toLowerCase(Locale.ROOT);
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (CREDENTIAL_PARAMS.contains(name)
          || value.startsWith(TokenStore.PREFIX)
          || value.regionMatches(true, 0, "Bearer ", 0, 7)) {
        throw new InvalidRequest(
            400,
            "a token in the query string ('"
                + name
                + "') is refused: send it only as the header 'Authorization: Bearer TOKEN'");
      }
    }
  }

  /** Writes take JSON only, so a cross-site form or text/plain post cannot reach a handler. */
  public static void requireJson(String contentType) throws InvalidRequest {
    if (contentType == null || !isJson(contentType)) {
      throw new InvalidRequest(
          415,
          "Content-Type must be application/json, got "
              + (contentType == null ? "none" : "'" + contentType + "'"));
    }
  }

  static boolean isJson(String contentType) {
    int semi = contentType.indexOf(';');
    String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim();
    return type.equalsIgnoreCase("application/json");
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }
}
