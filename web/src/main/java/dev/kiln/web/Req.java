package dev.kiln.web;

import dev.kiln.engine.trigger.InvalidRequest;
import org.apache.camel.Exchange;

/** Reading a page request: path parameters, query parameters and form fields (all headers). */
final class Req {
  private Req() {}

  static String param(Exchange e, String name) {
    String v = e.getIn().getHeader(name, String.class);
    return v == null || v.isEmpty() ? null : v;
  }

  static long id(Exchange e, String name, String what) throws InvalidRequest {
    String v = param(e, name);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException ex) {
      throw new InvalidRequest(404, "no " + what + " '" + v + "'");
    }
  }

  static int intParam(Exchange e, String name, int fallback, int max) {
    String v = param(e, name);
    if (v == null) {
      return fallback;
    }
    try {
      return Math.max(1, Math.min(max, Integer.parseInt(v)));
    } catch (NumberFormatException ex) {
      return fallback;
    }
  }

  static Long longParam(Exchange e, String name) {
    String v = param(e, name);
    if (v == null) {
      return null;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException ex) {
      return null;
    }
  }
}
