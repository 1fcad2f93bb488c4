package dev.kiln.workers.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.time.Duration;

/**
 * The local Docker engine as docker-java sees it: {@code DOCKER_HOST} (else the default socket),
 * one client shared by every task, and a briefly cached answer to "does it answer a ping?". Public
 * for {@code kiln bench docker}, which checks the engine and image as the executor does.
 */
public final class DockerEngine {
  static final Duration PING_TTL = Duration.ofSeconds(5);
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

  private final String host;
  private final DockerClient client;
  private final String configProblem;
  private volatile long pingCheckedAt;
  private volatile String pingProblem = "not checked yet";

  private DockerEngine(String host, DockerClient client, String configProblem) {
    this.host = host;
    this.client = client;
    this.configProblem = configProblem;
  }

  /** Reads DOCKER_HOST (and docker-java's other settings); a bad value is reported, not thrown. */
  public static DockerEngine fromEnvironment() {
    String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
    try {
      DockerClientConfig cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
      var http =
          new ZerodepDockerHttpClient.Builder()
              .dockerHost(cfg.getDockerHost())
              .sslConfig(cfg.getSSLConfig())
              .maxConnections(64)
              .connectionTimeout(CONNECT_TIMEOUT)
              .build();
      return new DockerEngine(
          cfg.getDockerHost().toString(), DockerClientImpl.getInstance(cfg, http), null);
    } catch (RuntimeException e) {
      return new DockerEngine(host, null, "DOCKER_HOST=" + host + " is not usable: " + oneLine(e));
    }
  }

  public String host() {
    return host;
  }

  public DockerClient client() {
    return client;
  }

  /** Null when the engine answered a ping within the last {@link #PING_TTL}, else why not. */
  public String problem() {
    if (configProblem != null) {
      return configProblem;
    }
    long now = System.nanoTime();
    if (now - pingCheckedAt > PING_TTL.toNanos()) {
      String p;
      try {
        client.pingCmd().exec();
        p = null;
      } catch (RuntimeException e) {
        p = oneLine(e);
      }
      pingProblem = p;
      pingCheckedAt = now;
    }
    return pingProblem;
  }

  /** Forget the cached ping, e.g. after a call failed because the engine went away. */
  void invalidate() {
    pingCheckedAt = 0;
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
    m = plain(m);
    Throwable cause = e.getCause();
    if (cause != null
        && cause.getMessage() != null
        && !m.contains(cause.getMessage())
        && m.length() < 60) {
      m = m + ": " + plain(cause.getMessage());
    }
    return m.length() > 300 ? m.substring(0, 297) + "..." : m;
  }

  /** Without HTTP status prefixes and Java class names ("java.net.SocketException: "). */
  private static String plain(String m) {
    return m.replaceAll("^Status \\d+: ", "")
        .replaceAll("(^|: )([a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(Exception|Error): ", "$1")
        .replaceAll("\\s+", " ")
        .trim();
  }
}
