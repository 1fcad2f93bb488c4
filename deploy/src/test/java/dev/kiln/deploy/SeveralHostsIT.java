package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Kiln on several hosts: PostgreSQL, S3Proxy, one {@code kiln server} and two {@code kiln worker}s,
 * each a container of its own on a network made for the test (nothing shared but the database and
 * the bucket). A hosted pipeline's steps land on both workers and pass an artifact from one to the
 * other through S3; the worker running the last step is SIGKILLed mid-step and the other one
 * finishes the run from the store. The containers run the kiln.jar this build just packaged,
 * layered over kiln/kiln:1 (docs/deploy.md). Runs after {@code package} (failsafe); fails instead
 * of skipping without Docker or the images when KILN_REQUIRE_DOCKER=1.
 */
class SeveralHostsIT {
  private static final String DB_PASSWORD = "hosts-db";
  private static final String S3_SECRET = "hosts-s3";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void stepsOnTwoHostsPassArtifactsThroughS3AndAKilledWorkerLosesNothing() throws Exception {
    DockerClient docker = KilnImages.requireDocker();
    String net = "kiln-hosts-" + ProcessHandle.current().pid();
    try (Hosts hosts = new Hosts(docker, net, KilnImages.TARGET.resolve("several-hosts"))) {
      String image = "kiln/kiln:it-" + ProcessHandle.current().pid();
      hosts.build(image, KilnImages.freshJarContext());

      hosts.start(
          "postgres",
          "kiln/postgres:1",
          Map.of("POSTGRES_USER", "kiln", "POSTGRES_PASSWORD", DB_PASSWORD, "POSTGRES_DB", "kiln"),
          List.of(),
          Map.of());
      hosts.start(
          "s3",
          "kiln/s3proxy:1",
          Map.of("S3PROXY_IDENTITY", "kiln", "S3PROXY_CREDENTIAL", S3_SECRET),
          List.of(),
          Map.of());
      String db = "jdbc:postgresql://" + hosts.ip("postgres") + ":5432/kiln";
      Await.until("PostgreSQL on its host", Duration.ofSeconds(90), () -> connects(db));
      S3Client s3 = s3("http://" + hosts.ip("s3") + ":9000");
      Await.until("S3Proxy on its host", Duration.ofSeconds(90), () -> bucketAnswers(s3));

      Map<String, String> env = kilnEnv();
      Path pipelines = Path.of(SeveralHostsIT.class.getResource("/several-hosts").toURI());
      hosts.start(
          "server",
          image,
          env,
          List.of(
              "server", "--host", "0.0.0.0", "--slots", "0", "--pipelines", "/tmp/several-hosts"),
          Map.of(pipelines, "/tmp"));
      String server = "http://" + hosts.ip("server") + ":8080";
      Await.until("the server's /health", Duration.ofSeconds(120), () -> Summaries.healthy(server));
      for (String[] w : new String[][] {{"worker-a", "a"}, {"worker-b", "b"}}) {
        hosts.start(
            w[0],
            image,
            env,
            List.of(
                "worker",
                "--queue",
                w[1],
                "--queue",
                "shared",
                "--slots",
                "2",
                "--lease",
                "15s",
                "--executor",
                "process"),
            Map.of());
      }
      String token =
          Summaries.lastLine(
              hosts.exec(
                  "server", "kiln", "tokens", "create", "several-hosts", "--role", "operator"));

      long run = startRun(server, token, "two-hosts");
      try (Connection c = DriverManager.getConnection(db, "kiln", DB_PASSWORD)) {
        String[] runningSlow = new String[1];
        Await.until(
            "step slow running on a worker",
            Duration.ofSeconds(180),
            () -> (runningSlow[0] = runningWorker(c, run, "slow")) != null);
        String victim = hostOf(runningSlow[0]);
        String survivor = victim.equals("worker-a") ? "worker-b" : "worker-a";
        hosts.kill(victim);
        assertThat(hosts.running(victim)).isFalse();

        Await.until("run " + run + " to end", Duration.ofSeconds(180), () -> ended(c, run));
        JsonNode summary = get(server, token, "/api/runs/" + run);
        assertThat(summary.path("status").asText()).as(summary.toString()).isEqualTo("succeeded");
        assertThat(Summaries.outputs(summary, "make").path("host").asText()).isEqualTo("worker-a");
        assertThat(Summaries.outputs(summary, "use").path("host").asText()).isEqualTo("worker-b");
        assertThat(Summaries.outputs(summary, "use").path("from").asText())
            .as("worker-b read what worker-a made, through S3")
            .isEqualTo("worker-a");
        assertThat(Summaries.outputs(summary, "slow").path("host").asText()).isEqualTo(survivor);
        assertThat(Summaries.outputs(summary, "slow").path("read").asText())
            .isEqualTo("made on worker-a;used on worker-b;");
        // A loaded machine may lose an attempt to a late heartbeat too: the killed host's attempt
        // is lost, and the last one succeeded on the other host.
        List<String> slow = attempts(c, run, "slow");
        assertThat(slow).as("slow's attempts").contains(victim + " lost");
        assertThat(slow.get(slow.size() - 1))
            .as("slow's attempts " + slow)
            .isEqualTo(survivor + " succeeded");
        assertThat(workerHosts(c, run)).containsExactlyInAnyOrder("worker-a", "worker-b");

        List<String> sha256s = artifacts(c, run);
        assertThat(sha256s).as("note.txt, used.txt, done.txt").hasSize(3);
        for (String sha : sha256s) {
          String key = "artifacts/sha256/" + sha.substring(0, 2) + "/" + sha;
          assertThat(inBucket(s3, key)).as("s3://kiln/" + key).isTrue();
        }
      }
    }
  }

  private static Map<String, String> kilnEnv() {
    return Map.of(
        "KILN_DB_URL", "jdbc:postgresql://postgres:5432/kiln",
        "KILN_DB_USER", "kiln",
        "KILN_DB_PASSWORD", DB_PASSWORD,
        "KILN_ARTIFACTS", "s3://kiln/artifacts",
        "KILN_S3_ENDPOINT", "http://s3:9000",
        "AWS_ACCESS_KEY_ID", "kiln",
        "AWS_SECRET_ACCESS_KEY", S3_SECRET,
        "AWS_REGION", "us-east-1");
  }

  private static S3Client s3(String endpoint) {
    return S3Client.builder()
        .endpointOverride(URI.create(endpoint))
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("kiln", S3_SECRET)))
        .build();
  }

  private static boolean connects(String db) {
    try (Connection c = DriverManager.getConnection(db, "kiln", DB_PASSWORD)) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private static boolean bucketAnswers(S3Client s3) {
    try {
      s3.headBucket(b -> b.bucket("kiln"));
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean inBucket(S3Client s3, String key) {
    try {
      s3.headObject(h -> h.bucket("kiln").key(key));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    }
  }

  private static long startRun(String server, String token, String pipeline) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(server + "/api/pipelines/" + pipeline + "/runs"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    return JSON.readTree(r.body()).path("run_id").asLong();
  }

  private static JsonNode get(String server, String token, String path) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(server + path))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static String runningWorker(Connection c, long run, String step) throws SQLException {
    return one(
            c,
            "select a.worker from task_attempts a join tasks t on t.id = a.task_id"
                + " where t.run_id = ? and t.step_id = ? and a.status = 'running'",
            run,
            step)
        .orElse(null);
  }

  private static boolean ended(Connection c, long run) throws SQLException {
    String status = one(c, "select status from runs where id = ?", run, null).orElseThrow();
    return List.of("succeeded", "failed", "cancelled").contains(status);
  }

  private static List<String> attempts(Connection c, long run, String step) throws SQLException {
    return all(
        c,
        "select a.worker, a.status from task_attempts a join tasks t on t.id = a.task_id"
            + " where t.run_id = ? and t.step_id = ? order by a.attempt",
        run,
        step,
        rs -> hostOf(rs.getString(1)) + " " + rs.getString(2));
  }

  private static List<String> workerHosts(Connection c, long run) throws SQLException {
    return all(
        c,
        "select distinct a.worker from task_attempts a join tasks t on t.id = a.task_id"
            + " where t.run_id = ? and a.status = 'succeeded'",
        run,
        null,
        rs -> hostOf(rs.getString(1)));
  }

  private static List<String> artifacts(Connection c, long run) throws SQLException {
    return all(
        c, "select sha256 from artifacts where run_id = ?", run, null, rs -> rs.getString(1));
  }

  /** A worker's name is {@code worker-PID@HOST}; the host is the container's name. */
  private static String hostOf(String worker) {
    return worker.substring(worker.indexOf('@') + 1);
  }

  @FunctionalInterface
  private interface Row<T> {
    T read(ResultSet rs) throws SQLException;
  }

  private static Optional<String> one(Connection c, String sql, long run, String step)
      throws SQLException {
    List<String> rows = all(c, sql, run, step, rs -> rs.getString(1));
    return rows.stream().findFirst();
  }

  private static <T> List<T> all(Connection c, String sql, long run, String step, Row<T> row)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, run);
      if (step != null) {
        ps.setString(2, step);
      }
      List<T> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(row.read(rs));
        }
      }
      return out;
    }
  }
}
