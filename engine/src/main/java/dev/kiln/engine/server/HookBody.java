package dev.kiln.engine.server;

import dev.kiln.engine.trigger.InvalidRequest;
import io.vertx.core.MultiMap;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;

/**
 * The JSON of a webhook delivery whose signature was already checked over the raw bytes: a JSON
 * body as it is, GitHub's form encoding ({@code payload=JSON}) unwrapped, anything else refused
 * with 415. A missing Content-Type is read as JSON, as many webhook senders send none.
 */
final class HookBody {
  /** The Content-Type the client sent, kept aside by {@link #keepRawBytes}. */
  static final String RECEIVED_TYPE = "X-Kiln-Received-Content-Type";

  private HookBody() {}

  /**
   * Makes a hook's route receive the exact bytes sent whatever their Content-Type: the HTTP layer
   * would otherwise decode a form body into fields (and lose the bytes the signature covers). Runs
   * before any other handler of {@code POST /hooks/*}, so before the body is read: it moves the
   * Content-Type aside (dropping one a client put there itself).
   */
  static void keepRawBytes(VertxPlatformHttpRouter router) {
    router
        .post("/hooks/*")
        .order(-1)
        .handler(
            ctx -> {
              MultiMap headers = ctx.request().headers();
              headers.remove(RECEIVED_TYPE);
              String type = headers.get("Content-Type");
              if (type != null) {
                headers.set(RECEIVED_TYPE, type);
                headers.set("Content-Type", "application/octet-stream");
              }
              ctx.next();
            });
  }

  static byte[] json(String path, String contentType, byte[] body) throws InvalidRequest {
    if (contentType == null || contentType.isBlank()) {
      return body;
    }
    int semi = contentType.indexOf(';');
    String type =
        (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    if (type.equals("application/json") || type.endsWith("+json")) {
      return body;
    }
    if (type.equals("application/x-www-form-urlencoded")) {
      String payload = formField(new String(body, StandardCharsets.UTF_8), "payload");
      if (payload != null) {
        return payload.getBytes(StandardCharsets.UTF_8);
      }
      throw new InvalidRequest(
          415,
          "webhook '"
              + path
              + "': a form-encoded body needs a 'payload' field holding JSON; or send"
              + " application/json");
    }
    throw new InvalidRequest(
        415,
        "webhook '" + path + "': Content-Type '" + contentType + "' is not accepted; send JSON");
  }

  private static String formField(String form, String name) throws InvalidRequest {
    for (String pair : form.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(name)) {
        try {
          return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          throw new InvalidRequest(400, "invalid form encoding of '" + name + "'");
        }
      }
    }
    return null;
  }
}
