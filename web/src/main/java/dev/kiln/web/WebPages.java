package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.open;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.server.WebUi;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.web.Sessions.Session;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.camel.Exchange;

/**
 * The web UI's route table: every page with the least role it needs (docs/ui.md), checked by the
 * session guard. Found by the server through {@link java.util.ServiceLoader}.
 */
public final class WebPages implements WebUi {
  private static final Pattern SAFE_NEXT = Pattern.compile("/(?![/\\\\])[^\\s]*");
  private final Views views = new Views();
  private Sessions sessions;

  @Override
  public Routes routes(Engine engine, Hosted hosted) {
    sessions =
        new Sessions(
            new TokenStore(engine.db()),
            ttl(hosted.env().get("KILN_UI_SESSION_TTL")),
            System::nanoTime);
    List<Route> all = new ArrayList<>();
    all.add(
        open(
            GET,
            "/",
            "sends the browser to the runs list (or the login form)",
            e -> Views.redirect("/runs")));
    all.add(open(GET, "/login", "the login form itself", this::loginForm));
    all.add(
        open(
            POST,
            "/login",
            "the API token it posts is the credential; it answers a session cookie",
            this::login));
    all.add(route(POST, "/logout", Role.VIEWER, this::logout));
    all.addAll(new Assets().routes());
    all.addAll(new RunPages(engine, views).routes());
    all.addAll(new ApprovalForms(engine).routes());
    all.addAll(new PipelinePages(engine, hosted, views).routes());
    all.addAll(new ModelPages(engine, views).routes());
    all.addAll(new DataPages(engine, views).routes());
    return new Routes(all, new SessionGuard(sessions, views));
  }

  @Override
  public String notFoundPage(String method, String path) {
    if (path.startsWith("/api/") || path.startsWith("/hooks/") || path.equals("/metrics")) {
      return null;
    }
    return views.notFound(path);
  }

  static Duration ttl(String setting) {
    if (setting == null || setting.isBlank()) {
      return Sessions.DEFAULT_TTL;
    }
    try {
      Duration d = Duration.parse(setting.trim());
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("KILN_UI_SESSION_TTL must be positive, got " + setting);
      }
      return d;
    } catch (DateTimeParseException ex) {
      throw new IllegalArgumentException(
          "KILN_UI_SESSION_TTL must be an ISO-8601 duration such as PT8H, got '" + setting + "'");
    }
  }

  private Reply loginForm(Exchange e) {
    return views.page(
        200,
        "login.jte",
        "f",
        Views.frame(null, "Sign in", "login"),
        "next",
        next(Req.param(e, "next")),
        "message",
        "");
  }

  private Reply login(Exchange e) {
    String next = next(Req.param(e, "next"));
    var s = sessions.login(Req.param(e, "token"));
    if (s.isEmpty()) {
      return views.page(
          401,
          "login.jte",
          "f",
          Views.frame(null, "Sign in", "login"),
          "next",
          next,
          "message",
          "unknown or revoked token");
    }
    return Views.redirect(next, cookie(s.get().id(), sessions.ttl().toSeconds()));
  }

  private Reply logout(Exchange e) {
    Session s = SessionGuard.session(e);
    sessions.logout(s.id());
    return Views.redirect("/login", cookie("", 0));
  }

  private static String cookie(String value, long maxAge) {
    return SessionGuard.COOKIE
        + "="
        + value
        + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
        + maxAge;
  }

  /** Where to go after login: a path on this server only, never another site. */
  static String next(String next) {
    return next != null && SAFE_NEXT.matcher(next).matches() ? next : "/runs";
  }
}
