package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.Engine;
import dev.kiln.engine.util.DaemonThreads;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deployments hosted by this process for {@code model/deploy} steps: one per (model, alias), kept
 * following its alias every {@value #POLL_SECONDS} s until the process ends (a shutdown hook stops
 * their containers). A second step for the same (model, alias) finds the hosted one.
 */
final class Deployments {
  static final int POLL_SECONDS = 2;
  private static final Logger log = LoggerFactory.getLogger(Deployments.class);
  private static final Map<String, Hosted> HOSTED = new ConcurrentHashMap<>();
  private static final ScheduledExecutorService FOLLOWER =
      Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("kiln-deployments"));

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(Deployments::closeAll, "kiln-deployments-stop"));
  }

  private record Hosted(Deployment deployment, ScheduledFuture<?> follower) {}

  private Deployments() {}

  /** The hosted deployment of name@alias, opened (its proxy on host:port) when there is none. */
  static Deployment host(
      Engine engine,
      DockerClient docker,
      String name,
      String alias,
      Integer pinned,
      String host,
      int port,
      Duration healthTimeout,
      Consumer<String> lines)
      throws ServeException {
    String key = name + "@" + alias;
    synchronized (HOSTED) {
      Hosted h = HOSTED.get(key);
      if (h != null) {
        return h.deployment();
      }
      Deployment d =
          Deployment.open(
              engine,
              docker,
              name,
              alias,
              pinned,
              host,
              port,
              healthTimeout,
              line -> log.info(line));
      lines.accept(key + " hosted by this process at " + d.url());
      ScheduledFuture<?> f =
          FOLLOWER.scheduleWithFixedDelay(
              () -> follow(d), POLL_SECONDS, POLL_SECONDS, TimeUnit.SECONDS);
      HOSTED.put(key, new Hosted(d, f));
      return d;
    }
  }

  private static void follow(Deployment d) {
    try {
      d.follow();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // The store or the engine is gone for now; the next poll tries again.
      log.warn("{}@{}: cannot follow the alias: {}", d.name(), d.alias(), e.toString());
    }
  }

  /** Stops the hosted deployment of name@alias, if this process hosts one. */
  static void stop(String name, String alias) {
    Hosted h;
    synchronized (HOSTED) {
      h = HOSTED.remove(name + "@" + alias);
    }
    if (h != null) {
      h.follower().cancel(false);
      h.deployment().close();
    }
  }

  static void closeAll() {
    for (String key : Map.copyOf(HOSTED).keySet()) {
      int at = key.lastIndexOf('@');
      stop(key.substring(0, at), key.substring(at + 1));
    }
  }
}
