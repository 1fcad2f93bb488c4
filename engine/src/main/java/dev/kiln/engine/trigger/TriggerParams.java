package dev.kiln.engine.trigger;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.expr.Template;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.engine.store.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The params of a run a trigger starts: from a webhook body, an API body, or a new file. */
public final class TriggerParams {
  private TriggerParams() {}

  /** Evaluates the webhook's {@code params} templates against the JSON body and coerces them. */
  public static Map<String, Object> fromWebhook(Pipeline p, Trigger.Webhook hook, JsonNode body)
      throws InvalidRequest {
    Object bodyValue = Json.MAPPER.convertValue(body, Object.class);
    Resolver resolver =
        path -> {
          if (path.get(0).equals("body")) {
            Object current = bodyValue;
            for (String segment : path.subList(1, path.size())) {
              if (!(current instanceof Map<?, ?> m) || !m.containsKey(segment)) {
                throw EvalException.unknownReference(path);
              }
              current = m.get(segment);
            }
            return current;
          }
          throw EvalException.unknownReference(path);
        };
    Map<String, Object> given = new LinkedHashMap<>();
    for (var e : hook.params().entrySet()) {
      Object value;
      try {
        value = Template.parse(e.getValue()).evaluate(resolver);
      } catch (EvalException ex) {
        ParamSpec spec = p.params().get(e.getKey());
        if (spec != null
            && spec.defaultValue() != null
            && ex.getMessage().startsWith("unknown reference 'body.")) {
          continue; // the body does not carry it: the param keeps its default
        }
        throw new InvalidRequest(400, "param '" + e.getKey() + "': " + ex.getMessage());
      } catch (ExprException ex) {
        throw new InvalidRequest(400, "param '" + e.getKey() + "': " + ex.getMessage());
      }
      given.put(e.getKey(), coerce(p, e.getKey(), value));
    }
    return complete(p, given);
  }

  /** A JSON object of param values (the manual API), coerced to the declared types. */
  public static Map<String, Object> fromJson(Pipeline p, JsonNode body) throws InvalidRequest {
    if (body == null || body.isNull() || body.isMissingNode()) {
      return complete(p, Map.of());
    }
    if (!body.isObject()) {
      throw new InvalidRequest(
          400,
          "the body must be a JSON object of params, got "
              + body.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    Map<String, Object> given = new LinkedHashMap<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!p.params().containsKey(name)) {
        throw new InvalidRequest(
            400,
            "unknown param '"
                + name
                + "'"
                + (p.params().isEmpty()
                    ? " (pipeline '" + p.name() + "' declares no params)"
                    : " (pipeline '"
                        + p.name()
                        + "' declares: "
                        + String.join(", ", p.params().keySet())
                        + ")"));
      }
      given.put(name, coerce(p, name, body.get(name)));
    }
    return complete(p, given);
  }

  /** The params of a run for a new file: {@code file} when the pipeline declares it. */
  public static Map<String, Object> forFile(Pipeline p, String path) throws InvalidRequest {
    return complete(
        p, p.params().containsKey("file") ? Map.of("file", coerce(p, "file", path)) : Map.of());
  }

  private static Object coerce(Pipeline p, String name, Object value) throws InvalidRequest {
    ParamSpec spec = p.params().get(name);
    if (spec == null) {
      throw new InvalidRequest(400, "unknown param '" + name + "'");
    }
    try {
      return Params.coerce(spec, value);
    } catch (PipelineException e) {
      throw new InvalidRequest(400, e.problems().get(0).message());
    }
  }

  /** Declared order; defaults for what was not given; every missing required param named. */
  private static Map<String, Object> complete(Pipeline p, Map<String, Object> given)
      throws InvalidRequest {
    Map<String, Object> out = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    for (ParamSpec spec : p.params().values()) {
      Object v = given.get(spec.name());
      if (v == null) {
        v = spec.defaultValue();
      }
      if (v == null) {
        missing.add(spec.name());
      } else {
        out.put(spec.name(), v);
      }
    }
    if (!missing.isEmpty()) {
      throw new InvalidRequest(
          400,
          "missing required param"
              + (missing.size() > 1 ? "s '" : " '")
              + String.join("', '", missing)
              + "'");
    }
    return out;
  }
}
