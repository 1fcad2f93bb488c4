package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.open;

import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.camel.Exchange;

/**
 * The scripts and styles, read once from the jar: htmx and uPlot from their webjars, Kiln's own
 * from this module. Only these names are served, so no path reaches the class path.
 */
final class Assets {
  private record Asset(String resource, String type) {}

  private static final Map<String, Asset> ASSETS =
      Map.of(
          "htmx.min.js",
          new Asset(
              "META-INF/resources/webjars/htmx.org/2.0.4/dist/htmx.min.js", "text/javascript"),
          "uPlot.iife.min.js",
          new Asset(
              "META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.iife.min.js", "text/javascript"),
          "uPlot.min.css",
          new Asset("META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.min.css", "text/css"),
          "kiln.css",
          new Asset("dev/kiln/web/assets/kiln.css", "text/css"),
          "kiln.js",
          new Asset("dev/kiln/web/assets/kiln.js", "text/javascript"));

  private final Map<String, byte[]> bytes;

  Assets() {
    bytes =
        Map.copyOf(
            ASSETS.entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, a -> read(a.getValue()))));
  }

  List<Route> routes() {
    return List.of(
        open(GET, "/assets/{name}", "scripts and styles, the same for everyone", this::serve));
  }

  private Reply serve(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    Asset a = name == null ? null : ASSETS.get(name);
    if (a == null) {
      throw new InvalidRequest(404, "no asset " + name);
    }
    byte[] body = bytes.get(name);
    return Reply.of(
        200,
        x -> {
          x.getMessage().setHeader(Exchange.CONTENT_TYPE, a.type() + "; charset=utf-8");
          x.getMessage().setHeader("Cache-Control", "public, max-age=3600");
          x.getMessage().setHeader("X-Content-Type-Options", "nosniff");
          x.getMessage().setBody(body);
        });
  }

  private static byte[] read(Asset a) {
    try (InputStream in = Assets.class.getClassLoader().getResourceAsStream(a.resource())) {
      if (in == null) {
        throw new IllegalStateException("asset missing from the class path: " + a.resource());
      }
      return in.readAllBytes();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }
}
