package dev.kiln.web;

import dev.kiln.engine.server.Routes;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.web.Sessions.Session;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.camel.Exchange;

/**
 * The pages' access check: the session cookie instead of a bearer token, the route's role, and on
 * every POST the session's CSRF token in the form field {@code csrf}. A page that fails it answers
 * with a page: the login form (303) for no or an expired session, a 403 or 404 page otherwise.
 */
final class SessionGuard implements Routes.Guard {
  static final String COOKIE = "kiln_session";

  /** The exchange property holding the checked session, for the handler. */
  static final String SESSION = "kiln.session";

  private final Sessions sessions;
  private final Views views;

  SessionGuard(Sessions sessions, Views views) {
    this.sessions = sessions;
    this.views = views;
  }

  @Override
  public void require(String authorization, Role needed) throws InvalidRequest {
    throw new InvalidRequest(401, "sign in");
  }

  @Override
  public void require(Exchange e, Route route) throws InvalidRequest {
    Session s =
        sessions
            .find(cookie(e.getIn().getHeader("Cookie", String.class), COOKIE))
            .orElseThrow(() -> new InvalidRequest(401, "sign in"));
    e.setProperty(SESSION, s);
    if (!s.role().allows(route.role())) {
      throw new InvalidRequest(
          403,
          "token '"
              + s.who().name()
              + "' has role "
              + s.role().db()
              + "; this needs "
              + route.role().db());
    }
    if (route.method() == Routes.Method.POST
        && !s.csrfMatches(e.getIn().getHeader("csrf", String.class))) {
      throw new InvalidRequest(403, "the form's CSRF token is missing or stale: reload the page");
    }
  }

  @Override
  public Reply error(Exchange e, int status, String message) {
    if (status == 401) {
      String path = e.getIn().getHeader(Exchange.HTTP_PATH, String.class);
      String next = path == null || path.isEmpty() || !path.startsWith("/") ? "/" : path;
      return Views.redirect("/login?next=" + URLEncoder.encode(next, StandardCharsets.UTF_8));
    }
    Session s = e.getProperty(SESSION, Session.class);
    return views.error(s, status, message);
  }

  static Session session(Exchange e) {
    return e.getProperty(SESSION, Session.class);
  }

  /** The value of cookie {@code name} in a Cookie header, or null. */
  static String cookie(String header, String name) {
    if (header == null) {
      return null;
    }
    for (String part : header.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
        return part.substring(eq + 1).trim();
      }
    }
    return null;
  }

  static Optional<Session> optional(Exchange e) {
    return Optional.ofNullable(session(e));
  }
}
