package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

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
    String id;
    try {
      id =
          docker
              .createContainerCmd(imageId)
              .withName(
                  "kiln-serve-"
                      + name.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_.-]", "-")
                      + "-"
                      + alias
                      + "-v"
                      + version
                      + "-"
                      + UUID.randomUUID().toString().substring(0, 8))
              .withLabels(Map.of(LABEL_DEPLOYMENT, name + "@" + alias))
              .withExposedPorts(http)
              .withHostConfig(
                  HostConfig.newHostConfig()
                      .withPortBindings(new PortBinding(Ports.Binding.bindIp("127.0.0.1"), http)))
              .exec()
              .getId();
    } catch (RuntimeException e) {
      throw new ServeException("cannot create the serving container: " + Docker.oneLine(e), e);
    }
    try {
      docker.startContainerCmd(id).exec();
      InspectContainerResponse c = docker.inspectContainerCmd(id).exec();
      Ports.Binding[] b = c.getNetworkSettings().getPorts().getBindings().get(http);
      if (b == null || b.length == 0) {
        throw new ServeException("the serving container published no port");
      }
      return new Running(id, "127.0.0.1", Integer.parseInt(b[0].getHostPortSpec()), version);
    } catch (RuntimeException e) {
      remove(docker, id);
      throw new ServeException("cannot start the serving container: " + Docker.oneLine(e), e);
    } catch (ServeException e) {
      remove(docker, id);
      throw e;
    }
  }

  /** Returns once /health answers 200; fails when the container exits or time runs out. */
  static void awaitHealthy(DockerClient docker, Running c, Duration within)
      throws ServeException, InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<Void> r =
            HTTP.send(
                HttpRequest.newBuilder(URI.create(c.url() + "/health"))
                    .timeout(Duration.ofSeconds(2))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
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
