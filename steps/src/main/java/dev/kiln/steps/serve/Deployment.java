package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.ModelVersion;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Keeps NAME@ALIAS served behind a stable address: one serving container for the version under the
 * alias, a proxy in this process in front of it. {@link #follow()} checks the alias; when it has
 * moved, the new version is packaged and started, and only once it is healthy does traffic switch
 * to it and the old container stop, after its last request. A version that fails to start or to
 * become healthy is reported (in the store and to the log) and the old one keeps serving.
 */
final class Deployment implements AutoCloseable {
  private final Engine engine;
  private final ServingStore store;
  private final DockerClient docker;
  private final String name;
  private final String alias;
  private final Integer pinned;
  private final Proxy proxy;
  private final PredictionLog live;
  private final String url;
  private final Duration healthTimeout;
  private final Consumer<String> log;
  private final String owner;
  private Integer failedVersion;
  private String error;

  private Deployment(
      Engine engine,
      DockerClient docker,
      String name,
      String alias,
      Integer pinned,
      Proxy proxy,
      PredictionLog live,
      String host,
      Duration healthTimeout,
      Consumer<String> log) {
    this.engine = engine;
    this.store = new ServingStore(engine.db());
    this.docker = docker;
    this.name = name;
    this.alias = alias;
    this.pinned = pinned;
    this.proxy = proxy;
    this.live = live;
    this.url = "http://" + host + ":" + proxy.port();
    this.healthTimeout = healthTimeout;
    this.log = log;
    this.owner = thisProcess();
  }

  /** Opens the proxy on host:port (0 = any free port); nothing is served until {@link #follow}. */
  static Deployment open(
      Engine engine,
      DockerClient docker,
      String name,
      String alias,
      String host,
      int port,
      Duration healthTimeout,
      Consumer<String> log)
      throws ServeException {
    return open(engine, docker, name, alias, null, host, port, healthTimeout, log);
  }

  /**
   * As above; with {@code pinned} set, the deployment serves that version and never moves (its
   * alias is then only the key it is listed under, {@link #pinnedKey}).
   */
  static Deployment open(
      Engine engine,
      DockerClient docker,
      String name,
      String alias,
      Integer pinned,
      String host,
      int port,
      Duration healthTimeout,
      Consumer<String> log)
      throws ServeException {
    if (!engine.models().exists(name)) {
      throw new ServeException("no model '" + name + "' (see 'kiln models list')");
    }
    PredictionLog live = new PredictionLog(new ServingStore(engine.db()), name, alias);
    Proxy proxy;
    try {
      proxy = Proxy.start(host, port, live.tap());
    } catch (ServeException e) {
      live.close();
      throw e;
    }
    Deployment d =
        new Deployment(engine, docker, name, alias, pinned, proxy, live, host, healthTimeout, log);
    d.save("starting");
    return d;
  }

  /** The key a deployment of one fixed version is listed under in place of an alias. */
  static String pinnedKey(int version) {
    return "version-" + version;
  }

  /** The live traffic log of this deployment. */
  PredictionLog live() {
    return live;
  }

  String name() {
    return name;
  }

  String alias() {
    return alias;
  }

  /** Why the last version tried is not serving, or null. */
  synchronized String error() {
    return error;
  }

  String url() {
    return url;
  }

  /** The address of the container serving now, without the proxy, or null. */
  String backendUrl() {
    Proxy.Backend b = proxy.current();
    return b == null ? null : b.container.url();
  }

  /** The version serving now, or null. */
  Integer version() {
    Proxy.Backend b = proxy.current();
    return b == null ? null : b.container.version();
  }

  /**
   * Brings the deployment to the version under the alias now; returns the version serving after. A
   * version that failed once is not tried again until the alias moves elsewhere.
   */
  synchronized Integer follow() throws InterruptedException {
    Optional<ModelVersion> target =
        pinned == null ? engine.models().lookup(name, alias) : engine.models().get(name, pinned);
    if (target.isEmpty()) {
      if (error == null) {
        error =
            pinned == null
                ? "alias '" + alias + "' of model '" + name + "' is not set"
                : "model '" + name + "' has no version " + pinned;
        log.accept(error + "; waiting for it");
        save(version() == null ? "starting" : "serving");
      }
      return version();
    }
    int want = target.get().version();
    Integer have = version();
    if ((have != null && have == want) || (failedVersion != null && failedVersion == want)) {
      return have;
    }
    ServingContainers.Running next = null;
    try {
      ModelInfo info = ModelRefs.info(store, engine.artifacts(), target.get(), docker);
      ModelImages.Built image = ModelImages.build(docker, engine.artifacts(), info);
      store.recordImage(name, want, image.image(), image.imageId());
      next = ServingContainers.start(docker, image.imageId(), name, alias, want);
      next = ServingContainers.awaitHealthy(docker, next, healthTimeout);
    } catch (ServeException e) {
      if (next != null) {
        ServingContainers.remove(docker, next.id());
      }
      failedVersion = want;
      error = e.getMessage();
      log.accept(
          name
              + "@"
              + alias
              + ": version "
              + want
              + " not deployed: "
              + e.getMessage()
              + (have == null ? "" : "; version " + have + " keeps serving"));
      save(have == null ? "failed" : "serving");
      return have;
    }
    Proxy.Backend old = proxy.switchTo(next);
    failedVersion = null;
    error = null;
    save("serving");
    log.accept(
        name
            + "@"
            + alias
            + ": version "
            + want
            + " serving at "
            + url
            + (old == null ? "" : " (was " + old.container.version() + ")"));
    if (old != null) {
      if (!Proxy.drain(old, Duration.ofSeconds(30))) {
        log.accept(
            "version " + old.container.version() + " still had requests after 30s; stopping it");
      }
      ServingContainers.remove(docker, old.container.id());
    }
    return want;
  }

  private void save(String status) {
    Proxy.Backend b = proxy.current();
    store.saveDeployment(
        new ServingStore.DeploymentRow(
            name,
            alias,
            url,
            status,
            b == null ? null : b.container.version(),
            null,
            b == null ? null : b.container.id(),
            failedVersion,
            error,
            owner,
            null));
  }

  /** Stops serving: the proxy closes, the container is removed, the row says stopped. */
  @Override
  public synchronized void close() {
    proxy.close();
    live.close();
    Proxy.Backend b = proxy.current();
    if (b != null) {
      ServingContainers.remove(docker, b.container.id());
    }
    save("stopped");
  }

  /** Who owns a deployment: HOST:PID of the process holding its proxy. */
  static String thisProcess() {
    return hostName() + ":" + ProcessHandle.current().pid();
  }

  /**
   * Whether the process that owns a deployment may still run: on this host it is checked; another
   * host's process is taken at its word.
   */
  static boolean ownerAlive(String owner) {
    int colon = owner == null ? -1 : owner.lastIndexOf(':');
    if (colon < 0) {
      return false;
    }
    if (!owner.substring(0, colon).equals(hostName())) {
      return true;
    }
    try {
      return ProcessHandle.of(Long.parseLong(owner.substring(colon + 1)))
          .map(ProcessHandle::isAlive)
          .orElse(false);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
