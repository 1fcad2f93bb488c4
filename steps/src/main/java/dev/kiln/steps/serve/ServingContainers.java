package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

/** Serving containers: started with their port published on loopback, health-checked, stopped. */
final class ServingContainers {
  static final String LABEL_DEPLOYMENT = "dev.kiln.deployment";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private ServingContainers() {}

  /** A started container and where its predict server listens. */
  record Running(String id, String host, int port, int version) {
    String url() {
      return "http://" + host + ":" + port;
    }
  }

  static Running start(DockerClient docker, String imageId, String name, String alias, int version)
      throws ServeException {
    ExposedPort http = ExposedPort.tcp(ModelImages.PORT);
    // An engine without its default bridge (dockerd --bridge=none) cannot publish ports: the
    // container then shares the host's network, its server binds any free loopback port and
    // prints which (awaitHealthy reads it from the container's log), so nothing is probed.
    boolean bridge = !docker.listNetworksCmd().withNameFilter("bridge").exec().isEmpty();
    // With a bridge the engine publishes the port, and must be given one: asked for "any port",
    // Docker 20.10 leaves the binding out of the container's inspect answer. So this one port is
    // chosen by binding it and letting it go just before the engine takes it.
    int hostPort = bridge ? freePort() : 0;
    String id;
    try {
      id =
          docker
              .createContainerCmd(imageId)
              .withName(
                  "kiln-serve-"
                      + name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_.-]", "-")
                      + "-"
                      + alias
                      + "-v"
                      + version
                      + "-"
                      + UUID.randomUUID().toString().substring(0, 8))
              .withLabels(Map.of(LABEL_DEPLOYMENT, name + "@" + alias))
              .withExposedPorts(http)
              .withCmd(bridge ? List.of() : List.of("0", "127.0.0.1"))
              .withHostConfig(
                  bridge
                      ? HostConfig.newHostConfig()
                          .withPortBindings(
                              new PortBinding(
                                  Ports.Binding.bindIpAndPort("127.0.0.1", hostPort), http))
                      : HostConfig.newHostConfig().withNetworkMode("host"))
              .exec()
              .getId();
    } catch (RuntimeException e) {
      throw new ServeException("cannot create the serving container: " + Docker.oneLine(e), e);
    }
    try {
      docker.startContainerCmd(id).exec();
      return new Running(id, "127.0.0.1", hostPort, version);
    } catch (RuntimeException e) {
      remove(docker, id);
      throw new ServeException("cannot start the serving container: " + Docker.oneLine(e), e);
    }
  }

  private static int freePort() throws ServeException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new ServeException("no free port on loopback: " + e.getMessage(), e);
    }
  }

  /** The port the container's server printed it listens on, or 0 while it has not said yet. */
  private static int announcedPort(DockerClient docker, String id) throws InterruptedException {
    StringBuilder out = new StringBuilder();
    docker
        .logContainerCmd(id)
        .withStdOut(true)
        .withTailAll()
        .exec(
            new ResultCallback.Adapter<Frame>() {
              @Override
              public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
              }
            })
        .awaitCompletion(5, TimeUnit.SECONDS);
    Matcher m = PredictMain.LISTENING.matcher(out);
    return m.find() ? Integer.parseInt(m.group(1)) : 0;
  }

  /**
   * Returns the container (with its port, once it said which) when /health answers 200; fails when
   * the container exits or time runs out.
   */
  static Running awaitHealthy(DockerClient docker, Running c, Duration within)
      throws ServeException, InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      if (c.port() == 0) {
        int port = announcedPort(docker, c.id());
        if (port > 0) {
          c = new Running(c.id(), c.host(), port, c.version());
        } else {
          last = "the server has not said its port yet";
        }
      }
      try {
        if (c.port() == 0) {
          throw new IOException("no port yet");
        }
        HttpResponse<Void> r =
            HTTP.send(
                HttpRequest.newBuilder(URI.create(c.url() + "/health"))
                    .timeout(Duration.ofSeconds(2))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return c;
        }
        last = "/health answered " + r.statusCode();
      } catch (IOException e) {
        last = "/health: " + e.getClass().getSimpleName();
      }
      InspectContainerResponse.ContainerState state;
      try {
        state = docker.inspectContainerCmd(c.id()).exec().getState();
      } catch (NotFoundException e) {
        throw new ServeException("the serving container of version " + c.version() + " is gone");
      }
      if (!Boolean.TRUE.equals(state.getRunning())) {
        throw new ServeException(
            "the serving container of version "
                + c.version()
                + " exited with code "
                + state.getExitCodeLong()
                + " before it was healthy");
      }
      Thread.sleep(100); // the poll interval of a health check, not a synchronisation
    }
    throw new ServeException(
        "version "
            + c.version()
            + " was not healthy within "
            + within.toSeconds()
            + "s ("
            + last
            + ")");
  }

  /** Stops (10 s grace) and removes a container; a container already gone is fine. */
  static void remove(DockerClient docker, String id) {
    try {
      docker.stopContainerCmd(id).withTimeout(10).exec();
    } catch (NotFoundException e) {
      return;
    } catch (RuntimeException e) {
      // already stopped (304) or the engine refused: the removal below forces it
    }
    try {
      docker.removeContainerCmd(id).withForce(true).exec();
    } catch (NotFoundException e) {
      // gone already
    }
  }
}
