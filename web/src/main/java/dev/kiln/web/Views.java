package dev.kiln.web;

import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.web.Sessions.Session;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.StringOutput;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.Exchange;

/**
 * Renders the jte templates (compiled to classes at build time by jte-maven-plugin, so nothing is
 * compiled at run time) and shapes HTML answers: escaping is jte's (every {@code ${}} is
 * HTML-escaped), and every page carries a Content-Security-Policy that allows scripts from this
 * server only, so even an escaping mistake could not run a script.
 */
final class Views {
  static final String CSP =
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
          + " img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self';"
          + " base-uri 'none'; object-src 'none'";

  private final TemplateEngine jte =
      TemplateEngine.createPrecompiled(null, ContentType.Html, null, "dev.kiln.web.jte");

  static Pages.Frame frame(Session s, String title, String section) {
    return s == null
        ? new Pages.Frame(title, section, null, null, "")
        : new Pages.Frame(title, section, s.who().name(), s.role().db(), s.csrf());
  }

  String render(String template, Map<String, Object> params) {
    StringOutput out = new StringOutput(64 * 1024);
    jte.render(template, params, out);
    return out.toString();
  }

  Reply page(int status, String template, Object... nameValues) {
    Map<String, Object> params = new LinkedHashMap<>();
    for (int i = 0; i < nameValues.length; i += 2) {
      params.put((String) nameValues[i], nameValues[i + 1]);
    }
    return html(status, render(template, params));
  }

  static Reply html(int status, String html) {
    return Reply.of(
        status,
        e -> {
          headers(e, "text/html; charset=utf-8");
          e.getMessage().setBody(html);
        });
  }

  static void headers(Exchange e, String contentType) {
    e.getMessage().setHeader(Exchange.CONTENT_TYPE, contentType);
    e.getMessage().setHeader("Content-Security-Policy", CSP);
    e.getMessage().setHeader("X-Content-Type-Options", "nosniff");
    e.getMessage().setHeader("Referrer-Policy", "same-origin");
    e.getMessage().setHeader("Cache-Control", "no-store");
  }

  static Reply redirect(String location, String... setCookies) {
    return Reply.of(
        303,
        e -> {
          e.getMessage().setHeader("Location", location);
          if (setCookies.length == 1) {
            e.getMessage().setHeader("Set-Cookie", setCookies[0]);
          }
          e.getMessage().setBody("");
        });
  }

  Reply error(Session s, int status, String message) {
    String title =
        switch (status) {
          case 403 -> "Not allowed";
          case 404 -> "Not found";
          case 400, 409, 415 -> "Cannot do that";
          default -> "Error";
        };
    return page(
        status, "error.jte", "f", frame(s, title, ""), "status", status, "message", message);
  }

  String notFound(String path) {
    return render(
        "error.jte",
        Map.of("f", frame(null, "Not found", ""), "status", 404, "message", "no page at " + path));
  }
}
