package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.open;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.camel.Exchange;

/**
 * {@code GET /api/openapi.json} (viewer: it is part of the API) and the rendered reference at
 * {@code /api/docs}: Swagger UI from its webjar, nothing from a CDN. The page and its files are
 * open because a browser cannot send a bearer header when it opens a page; they hold no data. The
 * page asks for a token, keeps it in the tab's session storage, and sends it as the header when it
 * fetches the document and when the reader tries a request.
 */
final class DocsApi {
  /** The files of Swagger UI the page uses: the only ones served. */
  private static final Map<String, String> FILES =
      Map.of(
          "swagger-ui.css", "text/css; charset=utf-8",
          "swagger-ui-bundle.js", "text/javascript; charset=utf-8",
          "favicon-32x32.png", "image/png");

  private static final String PAGE =
      """
      <!doctype html>
      <html lang="en">
      <head>
        <meta charset="utf-8">
        <title>Kiln API</title>
        <link rel="stylesheet" href="/api/docs/swagger-ui.css">
        <link rel="icon" href="/api/docs/favicon-32x32.png">
        <style>
          body { margin: 0; font-family: sans-serif; }
          #token { padding: 10px 20px; background: #f4f4f4; border-bottom: 1px solid #ddd; }
          #token input { width: 28em; font-family: monospace; }
        </style>
      </head>
      <body>
        <form id="token">
          <label>API token (viewer or above, kept in this tab only):
            <input id="t" type="password" autocomplete="off" placeholder="kiln_..."></label>
          <button type="submit">Load</button>
        </form>
        <div id="swagger-ui"></div>
        <script src="/api/docs/swagger-ui-bundle.js"></script>
        <script>
          function load() {
            var token = sessionStorage.getItem('kiln-token') || '';
            window.ui = SwaggerUIBundle({
              url: '/api/openapi.json',
              dom_id: '#swagger-ui',
              requestInterceptor: function (req) {
                if (token) { req.headers['Authorization'] = 'Bearer ' + token; }
                return req;
              }
            });
          }
          document.getElementById('token').addEventListener('submit', function (e) {
            e.preventDefault();
            sessionStorage.setItem('kiln-token', document.getElementById('t').value.trim());
            load();
          });
          load();
        </script>
      </body>
      </html>
      """;

  private final Supplier<List<Route>> routes;
  private final String webjar;

  DocsApi(Supplier<List<Route>> routes) {
    this.routes = routes;
    this.webjar = "/META-INF/resources/webjars/swagger-ui/" + swaggerUiVersion() + "/";
  }

  List<Route> routes() {
    String because = "static pages of the API reference, no data; the document needs a token";
    return List.of(
        route(
            GET,
            "/api/openapi.json",
            Role.VIEWER,
            e -> new Reply(200, OpenApi.document(routes.get()))),
        open(GET, Routes.DOCS, because, e -> Reply.text(200, "text/html; charset=utf-8", PAGE)),
        open(GET, Routes.DOCS + "/{file}", because, this::file));
  }

  private Reply file(Exchange e) throws InvalidRequest {
    String name = Request.of(e).path("file");
    String type = FILES.get(name);
    InputStream in = type == null ? null : DocsApi.class.getResourceAsStream(webjar + name);
    if (in == null) {
      throw new InvalidRequest(404, "no file '" + name + "' in the API reference");
    }
    return new Reply(200, in, type, Map.of("Cache-Control", "max-age=86400"));
  }

  private static String swaggerUiVersion() {
    try (InputStream in =
        DocsApi.class.getResourceAsStream(
            "/META-INF/maven/org.webjars/swagger-ui/pom.properties")) {
      if (in == null) {
        throw new IllegalStateException("the swagger-ui webjar is not on the class path");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
