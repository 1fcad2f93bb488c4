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
  private final Proxy proxy;
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
      Proxy proxy,
      String host,
      Duration healthTimeout,
      Consumer<String> log) {
    this.engine = engine;
    this.store = new ServingStore(engine.db());
    this.docker = docker;
    this.name = name;
    this.alias = alias;
    this.proxy = proxy;
    this.url = "http://" + host + ":" + proxy.port();
    this.healthTimeout = healthTimeout;
    this.log = log;
    this.owner = hostName() + ":" + ProcessHandle.current().pid();
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
    if (!engine.models().exists(name)) {
      throw new ServeException("no model '" + name + "' (see 'kiln models list')");
    }
    Proxy proxy = Proxy.start(host, port);
    Deployment d = new Deployment(engine, docker, name, alias, proxy, host, healthTimeout, log);
    d.save("starting");
    return d;
  }

  String url() {
    return url;
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
    Optional<ModelVersion> target = engine.models().lookup(name, alias);
    if (target.isEmpty()) {
      if (error == null) {
        error = "alias '" + alias + "' of model '" + name + "' is not set";
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
      ModelInfo info = ModelRefs.info(store, engine.artifacts(), target.get());
      ModelImages.Built image = ModelImages.build(docker, engine.artifacts(), info);
      store.recordImage(name, want, image.image(), image.imageId());
      next = ServingContainers.start(docker, image.imageId(), name, alias, want);
      ServingContainers.awaitHealthy(docker, next, healthTimeout);
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
    Proxy.Backend b = proxy.current();
    if (b != null) {
      ServingContainers.remove(docker, b.container.id());
    }
    save("stopped");
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
