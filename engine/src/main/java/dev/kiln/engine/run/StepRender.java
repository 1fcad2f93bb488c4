package dev.kiln.engine.run;

import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.Expr;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Resolver;
import dev.kiln.dsl.expr.Template;
import dev.kiln.dsl.expr.Values;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Renders one task's {@code run:}, {@code env:} and {@code with:} (docs/security.md, "Values never
 * become code"). A {@code run:} command becomes a shell script in which every {@code ${{ }}} is a
 * quoted reference to {@code KILN_EXPR_n}, set in the task's env. A {@code ${{ secrets.NAME }}}
 * becomes structure ({@link SecretRefs}) that only the worker fills in; any other value is text.
 */
final class StepRender {
  static final String EXPR_PREFIX = "KILN_EXPR_";
  private static final Pattern NUMBER = Pattern.compile("[-+]?[0-9]+(\\.[0-9]+)?");

  private final Resolver resolver;
  private final SecretRefs secrets = SecretRefs.empty();
  private int exprs;

  StepRender(Resolver resolver, Pipeline pipeline, Map<String, Object> params) {
    this.resolver = resolver;
    for (ParamSpec p : pipeline.params().values()) {
      Object v = params.get(p.name());
      if (p.secret() && v != null) {
        secrets.mask().add(Values.toText(v));
      }
    }
  }

  /** The secret's name when {@code expr} is exactly {@code secrets.NAME}, else null. */
  static String secretName(Expr expr) {
    return expr instanceof Expr.Ref r && r.path().size() == 2 && r.path().get(0).equals("secrets")
        ? r.path().get(1)
        : null;
  }

  /** An env value: text, or "" with its parts recorded for the worker when it reads a secret. */
  void env(Map<String, String> into, String name, String template)
      throws EvalException, ExprException {
    Template t = Template.parse(template);
    List<Object> parts = secretParts(t);
    if (parts == null) {
      into.put(name, t.render(resolver));
    } else {
      into.put(name, "");
      secrets.env().put(name, parts);
    }
  }

  /** The {@code run:} script; each expression's value goes into {@code env} as KILN_EXPR_n. */
  String command(String template, Map<String, String> env) throws EvalException, ExprException {
    return Template.parse(template)
        .renderShell(
            (expr, number) -> {
              String var = EXPR_PREFIX + (++exprs);
              String secret = secretName(expr);
              if (secret != null) {
                if (number) {
                  throw new EvalException("a secret cannot be used inside $(( ))");
                }
                env.put(var, "");
                secrets.env().put(var, List.of(SecretRefs.secret(secret)));
              } else {
                String value = Values.toText(expr.eval(resolver));
                if (number && !NUMBER.matcher(value).matches()) {
                  throw new EvalException(
                      "the value of "
                          + (expr instanceof Expr.Ref r ? "'" + r.dotted() + "'" : "an expression")
                          + " is used inside $(( )), where the shell evaluates it, but it is not a"
                          + " number: '"
                          + (value.length() > 40 ? value.substring(0, 37) + "..." : value)
                          + "'");
                }
                env.put(var, value);
              }
              return var;
            });
  }

  /** A {@code with:} tree, typed values where a string is exactly one expression. */
  Object with(Object v, String pointer) throws EvalException, ExprException {
    if (v instanceof String s) {
      Template t = Template.parse(s);
      List<Object> parts = secretParts(t);
      if (parts == null) {
        return t.evaluate(resolver);
      }
      secrets.with().put(pointer, parts);
      return "";
    }
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (var e : m.entrySet()) {
        String key = String.valueOf(e.getKey());
        out.put(key, with(e.getValue(), pointer + "/" + escape(key)));
      }
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      for (Object o : l) {
        out.add(with(o, pointer + "/" + out.size()));
      }
      return out;
    }
    return v;
  }

  /** Adds the secret references, if any, to the task's env. */
  void finish(Map<String, String> env) {
    env.remove(SecretRefs.ENV_KEY);
    if (!secrets.isEmpty()) {
      env.put(SecretRefs.ENV_KEY, secrets.toJson());
    }
  }

  /** The template as parts when it reads a secret (text and secrets), else null. */
  private List<Object> secretParts(Template t) throws EvalException {
    boolean any = false;
    for (Object seg : t.segments()) {
      any |= seg instanceof Expr e && secretName(e) != null;
    }
    if (!any) {
      return null;
    }
    List<Object> parts = new ArrayList<>();
    for (Object seg : t.segments()) {
      if (seg instanceof String text) {
        parts.add(text);
      } else {
        Expr e = (Expr) seg;
        String secret = secretName(e);
        parts.add(secret != null ? SecretRefs.secret(secret) : Values.toText(e.eval(resolver)));
      }
    }
    return parts;
  }

  private static String escape(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }
}
