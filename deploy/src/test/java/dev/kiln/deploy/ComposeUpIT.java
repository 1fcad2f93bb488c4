package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.Await;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What docs/deploy.md tells a user to do, done for real: {@code docker-compose up -d} of
 * deploy/compose/compose.yaml (Debian's docker-compose 1.29, as .ci/run installs), then {@code kiln
 * run --server URL PIPELINE} from the host against the server's port published on loopback, then
 * {@code docker-compose down -v} whatever happened. The services run the kiln.jar this build just
 * packaged (KILN_IMAGE: kiln/kiln:1 with it layered over), the server hosts this module's {@code
 * compose-up} folder (KILN_PIPELINES), on a free port (KILN_PORT). Runs after {@code package}
 * (failsafe); skipped without Docker or the images, failed instead when KILN_REQUIRE_DOCKER=1.
 */
class ComposeUpIT {
  private static final Path COMPOSE_FILE =
      Path.of("compose/compose.yaml").toAbsolutePath().normalize();
  private static final Path LOGS = KilnImages.TARGET.resolve("compose-up");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void composeUpThenKilnRunServerRunsAPipelineOnBothComposeWorkers() throws Exception {
    DockerClient docker = KilnImages.requireDocker();
    long pid = ProcessHandle.current().pid();
    String image = "kiln/kiln:it-compose-" + pid;
    KilnImages.build(docker, image, KilnImages.freshJarContext());
    Files.createDirectories(LOGS);
    int port = freePort();
    Path pipelines = Path.of(ComposeUpIT.class.getResource("/compose-up").toURI());
    Compose compose =
        new Compose(
            "kiln-it-" + pid,
            Map.of(
                "KILN_IMAGE",
                image,
                "KILN_PORT",
                Integer.toString(port),
                "KILN_PIPELINES",
                pipelines.toString(),
                "KILN_DB_PASSWORD",
                "compose-db",
                "KILN_S3_SECRET",
                "compose-s3"));
    try {
      compose.run(Duration.ofMinutes(6), "up", "-d");
      String server = "http://127.0.0.1:" + port;
      Await.until("the server's /health", Duration.ofSeconds(120), () -> Summaries.healthy(server));
      String created =
          compose.run(
              Duration.ofMinutes(2),
              "exec",
              "-T",
              "server",
              "kiln",
              "tokens",
              "create",
              "compose-it",
              "--role",
              "operator");
      // The output has stderr merged in (docker-compose's and the JVM's lines may follow the
      // token), so the token is the line that is one, not the last line.
      String token =
          created
              .lines()
              .map(String::strip)
              .filter(TokenStore::wellFormed)
              .reduce((first, second) -> second)
              .orElseThrow(() -> new AssertionError("no token in: " + created));

      Process client =
          kiln(token, "run", "--server", server, "compose-hello", "--json")
              .redirectError(LOGS.resolve("client.err").toFile())
              .start();
      String out = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(client.waitFor(5, TimeUnit.MINUTES)).as("kiln run --server ended").isTrue();
      String err = Files.readString(LOGS.resolve("client.err"));
      assertThat(client.exitValue()).as(err + out).isZero();

      JsonNode summary = JSON.readTree(out);
      assertThat(summary.path("status").asText()).isEqualTo("succeeded");
      assertThat(Summaries.outputs(summary, "make").path("host").asText()).isEqualTo("worker-a");
      assertThat(Summaries.outputs(summary, "use").path("host").asText()).isEqualTo("worker-b");
      assertThat(Summaries.outputs(summary, "use").path("read").asText())
          .as("worker-b read worker-a's artifact through the compose file's S3 store")
          .isEqualTo("made on worker-a");
      assertThat(err).contains("started on " + server);
    } finally {
      try {
        Files.writeString(
            LOGS.resolve("compose.log"),
            compose.run(Duration.ofMinutes(1), "logs", "--no-color", "--tail", "500"));
      } finally {
        compose.run(Duration.ofMinutes(3), "down", "-v");
        docker.removeImageCmd(image).withForce(true).exec();
      }
    }
  }

  /** docker-compose with the project name, the compose file and the settings in its environment. */
  private record Compose(String project, Map<String, String> env) {
    String run(Duration limit, String... args) throws IOException, InterruptedException {
      List<String> command =
          new ArrayList<>(List.of("docker-compose", "-p", project, "-f", COMPOSE_FILE.toString()));
      command.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.environment().putAll(env);
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " took over " + limit);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            String.join(" ", command) + " exited " + p.exitValue() + ":\n" + out);
      }
      return out;
    }
  }

  /** The freshly packaged kiln.jar as a client on this host, with its own KILN_HOME. */
  private static ProcessBuilder kiln(String token, String... args) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                KilnImages.TARGET.resolve("kiln.jar").toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("KILN_TOKEN", token);
    pb.environment()
        .put("KILN_HOME", Files.createTempDirectory(KilnImages.TARGET, "client-home").toString());
    return pb;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
