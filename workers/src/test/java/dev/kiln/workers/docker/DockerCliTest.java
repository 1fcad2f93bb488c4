package dev.kiln.workers.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container side of the command line, as a separate process against a real PostgreSQL. */
class DockerCliTest {
  @TempDir Path home;
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  private Result kiln(Map<String, String> extraEnv, String... args) throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.kiln.engine.cli.Main"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    Map<String, String> env =
        new HashMap<>(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()));
    if (db.password() != null) {
      env.put("KILN_DB_PASSWORD", db.password());
    }
    env.putAll(extraEnv);
    pb.environment().putAll(env);
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    pb.redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = pb.start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kiln did not finish: " + Files.readString(err));
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  @Test
  void unreachableDockerFailsTheStepNamingDockerHostAndTheWayOut() throws Exception {
    Path yaml = dir.resolve("boxed.yaml");
    Files.writeString(
        yaml,
        """
        name: boxed
        steps:
          boxed: { image: kiln/busybox:1, run: "true" }
        """);
    var r =
        kiln(
            Map.of("DOCKER_HOST", "unix://" + dir.resolve("no-docker.sock")),
            "run",
            yaml.toString(),
            "--json");
    assertThat(r.exit()).as(r.err()).isEqualTo(1);
    JsonNode step = Json.MAPPER.readTree(r.out()).get("steps").get(0);
    assertThat(step.get("status").asText()).isEqualTo("failed");
    assertThat(step.get("error").asText())
        .contains("DOCKER_HOST=unix://" + dir.resolve("no-docker.sock"))
        .contains("--executor process")
        .doesNotContain("\n");
    assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
  }
}
