package dev.kiln.steps.serve;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads a request's body as bytes whatever its Content-Type, up to {@link PredictServer#MAX_BODY}
 * (over it: a 413). Vert.x's BodyHandler parses a form's type as a form and fails on JSON, and
 * {@code curl -d} sends JSON with a form's type: the predict API takes one kind of body, so it
 * reads the bytes as JSON however they are labelled.
 */
final class RawBody {
  private static final String KEY = "kiln.body";

  private RawBody() {}

  /** A route handler: reads the body, then the next handler runs with {@link #of} set. */
  static void read(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    if (declaredLength(req) > PredictServer.MAX_BODY) {
      ctx.fail(413);
      return;
    }
    Buffer body = Buffer.buffer();
    if (req.isEnded()) {
      ctx.put(KEY, body);
      ctx.next();
      return;
    }
    boolean[] failed = {false};
    req.handler(
        chunk -> {
          if (failed[0]) {
            return;
          }
          if (body.length() + chunk.length() > PredictServer.MAX_BODY) {
            failed[0] = true;
            ctx.fail(413);
            return;
          }
          body.appendBuffer(chunk);
        });
    req.exceptionHandler(
        e -> {
          if (!failed[0]) {
            failed[0] = true;
            ctx.fail(400, e);
          }
        });
    req.endHandler(
        v -> {
          if (!failed[0]) {
            ctx.put(KEY, body);
            ctx.next();
          }
        });
    req.resume();
  }

  /** The body {@link #read} read (empty when there was none). */
  static Buffer of(RoutingContext ctx) {
    Buffer b = ctx.get(KEY);
    return b == null ? Buffer.buffer() : b;
  }

  private static long declaredLength(HttpServerRequest req) {
    String length = req.getHeader("Content-Length");
    try {
      return length == null ? -1 : Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
