package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;
import static dev.kiln.engine.server.RunsApi.time;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/** API tokens for admins: list (never a token itself), create (shown once), revoke. */
final class TokensApi {
  private final TokenStore tokens;

  TokensApi(Engine engine) {
    this.tokens = engine == null ? null : new TokenStore(engine.db());
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/api/tokens", Role.ADMIN, this::list),
        route(POST, "/api/tokens", Role.ADMIN, this::create),
        route(POST, "/api/tokens/{name}/revoke", Role.ADMIN, this::revoke));
  }

  private Reply list(Exchange e) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (TokenStore.ApiToken t : tokens.list()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", t.name());
      m.put("role", t.role().db());
      m.put("created_at", time(t.createdAt()));
      m.put("last_used_at", time(t.lastUsedAt()));
      m.put("revoked_at", time(t.revokedAt()));
      out.add(m);
    }
    return new Reply(200, Map.of("tokens", out));
  }

  /** Body {@code {"name": "...", "role": "viewer|operator|admin"}}: 201 with the token, once. */
  private Reply create(Exchange e) throws InvalidRequest {
    JsonNode body = Request.of(e).jsonBody();
    String name = body.path("name").isTextual() ? body.path("name").asText() : null;
    if (name == null) {
      throw new InvalidRequest(400, "'name' is required (text)");
    }
    Role role = body.path("role").isTextual() ? Role.parse(body.path("role").asText()) : null;
    if (role == null) {
      throw new InvalidRequest(400, "'role' must be viewer, operator or admin");
    }
    try {
      String token = tokens.create(name, role);
      return new Reply(201, Map.of("name", name, "role", role.db(), "token", token));
    } catch (TokenStore.TokenException ex) {
      throw new InvalidRequest(
          ex.getMessage().contains("already exists") ? 409 : 400, ex.getMessage());
    }
  }

  private Reply revoke(Exchange e) throws InvalidRequest {
    String name = Request.of(e).path("name");
    if (!tokens.revoke(name)) {
      throw new InvalidRequest(404, "no active token '" + name + "'");
    }
    return new Reply(200, Map.of("name", name, "revoked", true));
  }
}
