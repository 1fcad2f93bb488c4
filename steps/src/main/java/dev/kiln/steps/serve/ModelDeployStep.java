package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.SideEffects;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code uses: model/deploy}: serves NAME@ALIAS (or one fixed version) as a container behind a
 * stable address and returns once the version under the alias answers there. A deployment of the
 * same (model, alias) already kept by a live process ({@code kiln deploy}, or an earlier step) is
 * waited for instead of started twice; otherwise this process hosts it and keeps following the
 * alias ({@link Deployments}). The result is recorded once per task, so an attempt re-run after a
 * lost one reports the same deployment.
 */
public final class ModelDeployStep implements BuiltinStep {
  static final String NAME = "model/deploy";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Serves a registered model as a container (POST /predict) behind a stable address and"
            + " follows its alias: when the alias moves, the new version starts and traffic"
            + " switches once it is healthy. The deployment lives in the process that runs the"
            + " step (kiln server, kiln worker) unless a `kiln deploy` keeps it already.",
        List.of(
            WithKey.required("name", Type.STRING, "the model name"),
            WithKey.optional(
                "alias", Type.STRING, "the alias to serve and follow (default production)"),
            WithKey.optional(
                "version", Type.INTEGER, "serve this version instead of an alias (not followed)"),
            WithKey.optional("port", Type.INTEGER, "the stable port (default: any free port)"),
            WithKey.optional("host", Type.STRING, "the address to listen on (default 127.0.0.1)"),
            WithKey.optional(
                "health_timeout",
                Type.INTEGER,
                "seconds a new version may take to become healthy (default 120)")),
        Outputs.of(
            "url", "where the model answers POST /predict", "version", "the version serving"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    String name;
    String alias;
    Integer pinned;
    int port;
    String host;
    Duration health;
    try {
      name = Names.model(in.string("name"));
      int version = in.integer("version", 0);
      if (in.has("version") && version < 1) {
        throw in.bad("version", "must be a version number (1 or more)");
      }
      if (in.has("version") && in.has("alias")) {
        throw in.bad("version", "give either alias or version, not both");
      }
      pinned = version > 0 ? version : null;
      alias =
          pinned == null
              ? Names.alias(in.string("alias", "production"))
              : Deployment.pinnedKey(pinned);
      port = in.integer("port", 0);
      if (port < 0 || port > 65535) {
        throw in.bad("port", port + " is not a TCP port");
      }
      host = in.string("host", "127.0.0.1");
      health = Duration.ofSeconds(in.integer("health_timeout", 120));
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.invalid(NAME + ": " + e.getMessage());
    }
    Engine engine = ctx.engine();
    ServingStore store = new ServingStore(engine.db());
    Optional<Map<String, String>> earlier = engine.sideEffects().find(ctx.task(), NAME);
    if (earlier.isPresent() && serving(store, name, alias)) {
      ctx.logs()
          .line(
              "system",
              "already deployed by an earlier attempt: "
                  + name
                  + "@"
                  + alias
                  + " at "
                  + earlier.get().get("url"));
      return succeeded(earlier.get());
    }
    Optional<ModelVersion> target =
        pinned == null ? engine.models().lookup(name, alias) : engine.models().get(name, pinned);
    if (target.isEmpty()) {
      return Completion.failed(
          NAME
              + ": "
              + (pinned == null
                  ? "model '" + name + "' has no alias '" + alias + "'"
                  : "model '" + name + "' has no version " + pinned));
    }
    int want = target.get().version();
    String url;
    Integer have;
    ServingStore.DeploymentRow other = store.deployment(name, alias).orElse(null);
    if (other != null
        && !"stopped".equals(other.status())
        && !Deployment.thisProcess().equals(other.owner())
        && Deployment.ownerAlive(other.owner())) {
      // Another live process keeps this deployment and follows the alias itself: wait for it.
      ctx.logs().line("system", name + "@" + alias + " is kept by " + other.owner() + "; waiting");
      have =
          awaitVersion(store, name, alias, want, health.plusSeconds(2 * Deployments.POLL_SECONDS));
      url = other.url();
      if (have == null || have != want) {
        ServingStore.DeploymentRow now = store.deployment(name, alias).orElse(other);
        return Completion.failed(
            NAME
                + ": the deployment kept by "
                + other.owner()
                + " does not serve version "
                + want
                + (now.error() == null ? "" : ": " + now.error()));
      }
    } else {
      DockerClient docker;
      try {
        docker = Docker.connect();
      } catch (Docker.Unavailable e) {
        return Completion.failed(NAME + ": " + e.getMessage());
      }
      Deployment d;
      try {
        d =
            Deployments.host(
                engine,
                docker,
                name,
                alias,
                pinned,
                host,
                port,
                health,
                line -> ctx.logs().line("system", line));
      } catch (ServeException e) {
        return Completion.failed(NAME + ": " + e.getMessage());
      }
      have = d.follow();
      url = d.url();
      if (have == null || have != want) {
        return Completion.failed(
            NAME
                + ": version "
                + want
                + " is not serving: "
                + d.error()
                + (have == null ? "" : " (version " + have + " keeps serving at " + url + ")"));
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    out.put("url", url);
    out.put("version", String.valueOf(have));
    SideEffects.Outcome once = engine.sideEffects().once(ctx.task(), NAME, c -> out);
    ctx.logs().line("system", name + "@" + alias + ": version " + have + " serving at " + url);
    return succeeded(once.outputs());
  }

  private static boolean serving(ServingStore store, String name, String alias) {
    return store
        .deployment(name, alias)
        .filter(d -> "serving".equals(d.status()) && Deployment.ownerAlive(d.owner()))
        .isPresent();
  }

  /** Polls the deployment row until it serves want, or time runs out; the version serving then. */
  private static Integer awaitVersion(
      ServingStore store, String name, String alias, int want, Duration within)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      Integer v =
          store.deployment(name, alias).map(ServingStore.DeploymentRow::version).orElse(null);
      if ((v != null && v == want) || System.nanoTime() > deadline) {
        return v;
      }
      Thread.sleep(200); // the poll interval of a row another process writes, not a synchronisation
    }
  }

  private static Completion succeeded(Map<String, String> out) {
    return new Completion(
        Completion.Outcome.SUCCEEDED, null, null, Map.copyOf(out), List.of(), List.of());
  }
}
