package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.SecretRefs;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.CronScheduler;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code kiln server} prints once it serves, after its "listening" line: where its state
 * lives, what runs steps, whether the API is usable, each hosted pipeline's triggers, and a warning
 * for every variable a pipeline needs that this process does not have (a webhook's secret, a step's
 * {@code secrets.NAME}), so a trigger that would refuse every request is found at start.
 */
final class StartupSummary {
  private static final Pattern SECRET =
      Pattern.compile("\\$\\{\\{\\s*secrets\\.([A-Za-z_][A-Za-z0-9_]*)\\s*}}");

  private StartupSummary() {}

  /** The lines, in order; warnings start with "warning: ". */
  static List<String> lines(
      String url,
      KilnConfig config,
      int slots,
      Map<String, String> env,
      List<TokenStore.ApiToken> tokens,
      Map<String, Pipeline> pipelines,
      Path baseDir,
      Instant now) {
    List<String> out = new ArrayList<>();
    out.add(
        "  store: "
            + (config.dbUrl() == null
                ? "embedded PostgreSQL in " + config.home().resolve("pgdata")
                : withoutQuery(config.dbUrl())));
    out.add(
        "  artifacts: "
            + (config.s3() == null
                ? config.home().resolve("artifacts").toString()
                : "s3://" + config.s3().bucket() + "/" + config.s3().prefix()));
    List<String> executors = new ArrayList<>();
    ServiceLoader.load(Executor.class).forEach(e -> executors.add(e.name()));
    out.add(
        "  workers: "
            + (slots == 0
                ? "none in this process (run kiln worker against the same database)"
                : slots + " slots in this process")
            + "; executors: "
            + String.join(", ", new TreeSet<>(executors)));
    long active = tokens.stream().filter(t -> t.revokedAt() == null).count();
    out.add(
        "  auth: "
            + (active == 0
                ? "no API tokens yet: /api and the web UI refuse everyone until"
                    + " 'kiln tokens create NAME --role admin'"
                : active + " active API token" + (active == 1 ? "" : "s")));
    List<String> warnings = new ArrayList<>();
    for (Pipeline p : new TreeMap<>(pipelines).values()) {
      List<String> triggers = new ArrayList<>();
      for (Trigger t : p.triggers()) {
        if (t instanceof Trigger.Webhook w) {
          triggers.add("webhook " + url + "/hooks/" + w.path());
          String var = w.secretEnv() != null ? w.secretEnv() : w.tokenEnv();
          if (var != null && blank(env.get(var))) {
            warnings.add(
                "warning: "
                    + p.name()
                    + ": webhook '"
                    + w.path()
                    + "' needs "
                    + var
                    + ", which is not set: every request to it is refused (503)");
          }
        } else if (t instanceof Trigger.Cron c) {
          List<Instant> next = CronScheduler.fireTimes(c, now, now.plus(Duration.ofDays(400)), 1);
          triggers.add(
              "cron \""
                  + c.expression()
                  + "\" next "
                  + (next.isEmpty() ? "none within 400 days" : next.get(0).toString()));
        } else if (t instanceof Trigger.Files f) {
          triggers.add("files " + baseDir.resolve(f.dir()).normalize() + "/" + f.glob());
        }
      }
      out.add(
          "  pipeline "
              + p.name()
              + ": "
              + (triggers.isEmpty()
                  ? "no triggers (API and UI only)"
                  : String.join("; ", triggers)));
      if (slots > 0) {
        for (String name : secrets(p)) {
          String var = SecretRefs.variable(name);
          if (blank(env.get(var))) {
            warnings.add(
                "warning: "
                    + p.name()
                    + ": reads secrets."
                    + name
                    + " but "
                    + var
                    + " is not set here: its steps fail on this server's workers");
          }
        }
      }
    }
    out.addAll(warnings);
    return out;
  }

  /** The names of the secrets a pipeline's text reads. */
  static TreeSet<String> secrets(Pipeline p) {
    TreeSet<String> names = new TreeSet<>();
    String text = p.source().text();
    if (text != null) {
      Matcher m = SECRET.matcher(text);
      while (m.find()) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  /** A JDBC URL without its parameters, which may carry a password. */
  private static String withoutQuery(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
