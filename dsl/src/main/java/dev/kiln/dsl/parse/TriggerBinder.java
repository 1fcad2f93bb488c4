package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Trigger;
import java.nio.file.FileSystems;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Binds {@code triggers:}. Cron expressions are only counted here (5, 6 or 7 fields) and kept raw:
 * the engine hands them to Quartz, which is the authority on what they mean.
 */
final class TriggerBinder {
  static final List<String> KINDS = List.of("cron", "webhook", "files");
  static final List<String> CRON_KEYS = List.of("cron", "timezone", "catchup");
  static final List<String> WEBHOOK_KEYS =
      List.of("path", "secret_env", "token_env", "auth", "require_timestamp", "params");
  static final List<String> FILES_KEYS = List.of("dir", "glob");
  static final List<String> CATCHUP = List.of("none", "last", "all");

  /** The spelling the first releases documented; read as {@code last}. */
  static final String CATCHUP_ALIAS = "latest";

  private static final Pattern PATH = Pattern.compile("[a-zA-Z0-9_-]+");

  private final Fields f;
  private final Problems problems;
  private final Map<String, ParamSpec> params;
  private final ExpressionCheck exprs;
  private final Map<String, YNode> webhookPaths = new HashMap<>();

  private TriggerBinder(Fields f, Map<String, ParamSpec> params, ExpressionCheck exprs) {
    this.f = f;
    this.problems = f.problems();
    this.params = params;
    this.exprs = exprs;
  }

  static List<Trigger> bind(
      YNode n, Map<String, ParamSpec> params, Fields f, ExpressionCheck exprs) {
    List<Trigger> out = new ArrayList<>();
    if (Fields.absent(n)) {
      return out;
    }
    if (!(n instanceof YNode.Seq seq)) {
      f.problems().add(n, "'triggers' must be a list, got " + n.describe());
      return out;
    }
    TriggerBinder binder = new TriggerBinder(f, params, exprs);
    for (YNode item : seq.items()) {
      Trigger t = binder.trigger(item);
      if (t != null) {
        out.add(t);
      }
    }
    return List.copyOf(out);
  }

  private Trigger trigger(YNode item) {
    if (!(item instanceof YNode.Mapping m)) {
      problems.add(
          item,
          "a trigger must be a map with 'cron', 'webhook' or 'files', got " + item.describe());
      return null;
    }
    List<String> kinds = new ArrayList<>();
    for (String k : KINDS) {
      if (m.has(k)) {
        kinds.add(k);
      }
    }
    if (kinds.isEmpty()) {
      List<String> all = new ArrayList<>(KINDS);
      all.addAll(CRON_KEYS.subList(1, CRON_KEYS.size()));
      f.checkKeys(m, all);
      problems.add(m, "a trigger needs one of 'cron', 'webhook' or 'files'");
      return null;
    }
    if (kinds.size() > 1) {
      problems.add(
          m.keyNode(kinds.get(1)),
          "a trigger has one of 'cron', 'webhook' or 'files', not "
              + String.join(" and ", kinds)
              + "; make it two triggers");
      return null;
    }
    return switch (kinds.get(0)) {
      case "cron" -> cron(m);
      case "webhook" -> webhook(m);
      default -> files(m);
    };
  }

  private Trigger cron(YNode.Mapping m) {
    f.checkKeys(m, CRON_KEYS);
    String expression = f.required(m, "cron", "'cron'");
    if (expression != null) {
      f.literal(m.get("cron"), "'cron'");
      if (!expression.contains("${{")) {
        try {
          CronSyntax.toQuartz(expression);
        } catch (IllegalArgumentException e) {
          problems.add(m.get("cron"), e.getMessage());
        }
      }
    }
    String timezone = f.string(m.get("timezone"), "'timezone'");
    if (timezone != null) {
      try {
        ZoneId.of(timezone);
      } catch (DateTimeException e) {
        problems.add(
            m.get("timezone"),
            "unknown timezone '"
                + timezone
                + "'"
                + problems.suggest(timezone, ZoneId.getAvailableZoneIds()));
      }
    }
    String catchup = f.string(m.get("catchup"), "'catchup'");
    if (CATCHUP_ALIAS.equals(catchup)) {
      catchup = "last";
    } else if (catchup != null && !CATCHUP.contains(catchup)) {
      problems.add(m.get("catchup"), "'catchup' must be none, last or all, got '" + catchup + "'");
    }
    return new Trigger.Cron(expression, timezone, catchup, m.location());
  }

  private Trigger webhook(YNode.Mapping m) {
    f.checkKeys(m, List.of("webhook"));
    YNode.Mapping w = f.map(m.get("webhook"), "'webhook'");
    if (w == null) {
      if (Fields.absent(m.get("webhook"))) {
        problems.add(
            m.keyNode("webhook"), "'webhook' needs at least a path, like { path: new-data }");
      }
      return null;
    }
    f.checkKeys(w, WEBHOOK_KEYS);
    String path = f.required(w, "path", "webhook 'path'");
    if (path != null) {
      YNode pathNode = w.get("path");
      if (!PATH.matcher(path).matches()) {
        problems.add(
            pathNode, "webhook path '" + path + "' may only contain letters, digits, '_' and '-'");
      } else {
        YNode first = webhookPaths.putIfAbsent(path, pathNode);
        if (first != null) {
          problems.add(
              pathNode,
              "webhook path '" + path + "' is already used at line " + first.location().line());
        }
      }
    }
    String secretEnv = envName(w.get("secret_env"), "'secret_env'");
    String tokenEnv = envName(w.get("token_env"), "'token_env'");
    boolean requireTimestamp = auth(w, path, secretEnv, tokenEnv);
    Map<String, String> given =
        f.stringMap(
            w.get("params"),
            "webhook 'params'",
            "webhook param",
            key -> {
              if (!params.containsKey(key.text())) {
                String hint = problems.suggest(key.text(), params.keySet());
                problems.add(
                    key,
                    "webhook sets unknown param '"
                        + key.text()
                        + "'"
                        + (!hint.isEmpty()
                            ? hint
                            : params.isEmpty()
                                ? " (the pipeline declares no params)"
                                : " (declared: " + String.join(", ", params.keySet()) + ")"));
              }
            });
    exprs.scan(w.get("params"), ExpressionCheck.Scope.TRIGGER, null);
    return new Trigger.Webhook(
        path,
        secretEnv,
        tokenEnv,
        requireTimestamp,
        Collections.unmodifiableMap(given),
        m.location());
  }

  /**
   * An open hook is a choice written down ({@code auth: none}), never the silent default of a
   * forgotten {@code secret_env}. Returns {@code require_timestamp}.
   */
  private boolean auth(YNode.Mapping w, String path, String secretEnv, String tokenEnv) {
    YNode authNode = w.get("auth");
    String auth = f.literal(authNode, "'auth'");
    boolean signed = secretEnv != null || tokenEnv != null;
    if (auth != null && !auth.equals("none")) {
      problems.add(
          authNode,
          "webhook 'auth' can only be 'none', got '"
              + auth
              + "'; an authenticated hook names secret_env (HMAC signature) or token_env (bearer"
              + " token)");
    } else if (auth != null && signed) {
      problems.add(
          authNode,
          "webhook 'auth: none' contradicts "
              + (secretEnv != null ? "secret_env" : "token_env")
              + "; keep one of them");
    } else if (auth == null && !signed) {
      problems.add(
          w.keyNode("path") != null ? w.keyNode("path") : w,
          "webhook '"
              + (path == null ? "" : path)
              + "' has no authentication: add secret_env (HMAC signature) or token_env (bearer"
              + " token), or write 'auth: none' to let anyone who can reach the server start"
              + " runs");
    }
    Boolean requireTimestamp = f.bool(w.get("require_timestamp"), "'require_timestamp'");
    if (Boolean.TRUE.equals(requireTimestamp) && (secretEnv == null || tokenEnv != null)) {
      problems.add(
          w.keyNode("require_timestamp"),
          "'require_timestamp' needs a signed hook: set secret_env"
              + (tokenEnv != null
                  ? " and drop token_env (a bearer token can be replayed whatever the time)"
                  : ""));
    }
    return Boolean.TRUE.equals(requireTimestamp);
  }

  private String envName(YNode n, String what) {
    String name = f.literal(n, what);
    if (name != null && !Fields.ENV_NAME.matcher(name).matches()) {
      problems.add(n, what + " must name an environment variable, got '" + name + "'");
    }
    return name;
  }

  private Trigger files(YNode.Mapping m) {
    f.checkKeys(m, List.of("files"));
    YNode.Mapping w = f.map(m.get("files"), "'files'");
    if (w == null) {
      if (Fields.absent(m.get("files"))) {
        problems.add(
            m.keyNode("files"),
            "'files' needs a dir and a glob, like { dir: /data/incoming, glob: \"*.csv\" }");
      }
      return null;
    }
    f.checkKeys(w, FILES_KEYS);
    String dir = f.required(w, "dir", "'dir'");
    String glob = f.required(w, "glob", "'glob'");
    f.literal(w.get("dir"), "'dir'");
    f.literal(w.get("glob"), "'glob'");
    if (glob != null) {
      try {
        FileSystems.getDefault().getPathMatcher("glob:" + glob);
      } catch (PatternSyntaxException e) {
        problems.add(w.get("glob"), "invalid glob '" + glob + "': " + e.getDescription());
      }
    }
    return new Trigger.Files(dir, glob, m.location());
  }
}
