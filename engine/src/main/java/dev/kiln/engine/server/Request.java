package dev.kiln.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.Exchange;

/**
 * Typed reads of one API request: path parameters, query parameters and the JSON body, each refused
 * with a 400 that names the parameter when it is malformed or out of range.
 */
final class Request {
  private final Exchange exchange;
  private final Map<String, String> query;

  private Request(Exchange exchange, Map<String, String> query) {
    this.exchange = exchange;
    this.query = query;
  }

  static Request of(Exchange e) {
    return new Request(e, parseQuery(e.getIn().getHeader(Exchange.HTTP_QUERY, String.class)));
  }

  /** A path parameter as the router matched it (never null for a declared one). */
  String path(String name) {
    return exchange.getIn().getHeader(name, String.class);
  }

  /** A path parameter that must be a positive whole number (a run id, a version). */
  long pathLong(String name) throws InvalidRequest {
    return positive(name, path(name), "path parameter");
  }

  String query(String name) {
    String v = query.get(name);
    return v == null || v.isEmpty() ? null : v;
  }

  boolean flag(String name) throws InvalidRequest {
    String v = query(name);
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true")) {
      return true;
    }
    throw new InvalidRequest(400, "query parameter '" + name + "' must be true or false");
  }

  /** A whole-number query parameter in {@code [min, max]}, or {@code otherwise} when absent. */
  int queryInt(String name, int otherwise, int min, int max) throws InvalidRequest {
    String v = query(name);
    if (v == null) {
      return otherwise;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below with the range
    }
    throw new InvalidRequest(
        400,
        "query parameter '"
            + name
            + "' must be a number from "
            + min
            + " to "
            + max
            + ", got '"
            + v
            + "'");
  }

  Long queryLong(String name) throws InvalidRequest {
    String v = query(name);
    return v == null ? null : positive(name, v, "query parameter");
  }

  /** The body as a JSON object (an empty body is an empty object). */
  JsonNode jsonBody() throws InvalidRequest {
    byte[] body = exchange.getIn().getBody(byte[].class);
    if (body == null || body.length == 0) {
      return Json.MAPPER.createObjectNode();
    }
    if (body.length > HttpApi.MAX_BODY) {
      throw new InvalidRequest(413, "request body is larger than 1 MiB");
    }
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(body);
    } catch (IOException ex) {
      throw new InvalidRequest(
          400, "invalid JSON body: " + ex.getMessage().lines().findFirst().orElse(""));
    }
    if (n == null || !n.isObject()) {
      throw new InvalidRequest(400, "the request body must be a JSON object");
    }
    return n;
  }

  private static long positive(String name, String v, String what) throws InvalidRequest {
    try {
      long n = Long.parseLong(v);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new InvalidRequest(
        400, what + " '" + name + "' must be a positive whole number, got '" + v + "'");
  }

  static Map<String, String> parseQuery(String q) {
    Map<String, String> out = new LinkedHashMap<>();
    if (q == null || q.isEmpty()) {
      return out;
    }
    for (String pair : q.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = decode(eq < 0 ? pair : pair.substring(0, eq));
      String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
      out.putIfAbsent(k, v);
    }
    return out;
  }

  /** Every query parameter (first value of each), for lookups keyed by free names. */
  Map<String, String> queryAll() {
    return query;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }
}
