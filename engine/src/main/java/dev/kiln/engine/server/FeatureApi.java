package dev.kiln.engine.server;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.OnlineStore;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.trigger.InvalidRequest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/**
 * {@code GET /api/features/online?service=NAME&KEY=VALUE...}: a feature service's online values for
 * one entity (or several: a key repeated once per entity), each with its status (present, missing,
 * outside_ttl), as {@code {"features": {...}, "status": {...}}}.
 */
final class FeatureApi {
  private final Engine engine;
  private OnlineStore online; // made at the first request: the route table is built without a store

  FeatureApi(Engine engine) {
    this.engine = engine;
  }

  private synchronized OnlineStore online() {
    if (online == null) {
      online = new OnlineStore(engine.db());
    }
    return online;
  }

  Routes.Reply online(Exchange e) throws InvalidRequest {
    Map<String, List<String>> keys = query(e.getIn().getHeader(Exchange.HTTP_QUERY, String.class));
    List<String> service = keys.remove("service");
    if (service == null || service.size() != 1 || service.get(0).isBlank()) {
      throw new InvalidRequest(400, "query parameter 'service' is required, once");
    }
    try {
      OnlineStore.Lookup l = online().lookup(service.get(0), keys, Instant.now());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("features", l.features());
      m.put("status", l.status());
      return new Routes.Reply(200, m);
    } catch (OnlineStore.NotFound ex) {
      throw new InvalidRequest(404, ex.getMessage());
    } catch (RegistryException ex) {
      throw new InvalidRequest(400, ex.getMessage());
    }
  }

  static Map<String, List<String>> query(String q) throws InvalidRequest {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (q == null || q.isEmpty()) {
      return out;
    }
    for (String pair : q.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new InvalidRequest(400, "query parameter '" + pair + "' is not KEY=VALUE");
      }
      try {
        String k = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
      } catch (IllegalArgumentException ex) {
        throw new InvalidRequest(400, "query parameter '" + pair + "' is not URL-encoded");
      }
    }
    return out;
  }
}
