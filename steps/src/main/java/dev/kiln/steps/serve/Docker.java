package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.time.Duration;

/**
 * The local Docker engine ({@code DOCKER_HOST}, else the default socket) for images and serving.
 */
final class Docker {
  private Docker() {}

  /** The engine cannot be used; the message says why in one line. */
  static final class Unavailable extends Exception {
    Unavailable(String message) {
      super(message);
    }
  }

  /** A client whose engine answered a ping, or why there is none. */
  static DockerClient connect() throws Unavailable {
    String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
    DockerClient client;
    try {
      DockerClientConfig cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
      var http =
          new ZerodepDockerHttpClient.Builder()
              .dockerHost(cfg.getDockerHost())
              .sslConfig(cfg.getSSLConfig())
              .maxConnections(16)
              .connectionTimeout(Duration.ofSeconds(3))
              .build();
      client = DockerClientImpl.getInstance(cfg, http);
      client.pingCmd().exec();
      return client;
    } catch (RuntimeException e) {
      throw new Unavailable(
          "the Docker engine at DOCKER_HOST=" + host + " does not answer: " + oneLine(e));
    }
  }

  /** docker-java messages carry HTTP status lines and JSON; keep the engine's own words. */
  static String oneLine(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName();
    }
    int msg = m.indexOf("\"message\":\"");
    if (msg >= 0) {
      int end = m.indexOf('"', msg + 11);
      m = m.substring(msg + 11, end > 0 ? end : m.length());
    }
    m = m.replaceAll("^Status \\d+: ", "").replaceAll("\\s+", " ").trim();
    return m.length() > 300 ? m.substring(0, 297) + "..." : m;
  }
}
