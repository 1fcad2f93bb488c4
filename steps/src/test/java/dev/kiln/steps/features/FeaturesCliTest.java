package dev.kiln.steps.features;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.TestDb;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kiln features ...} as a user runs it (a separate JVM), and the online HTTP route. */
class FeaturesCliTest {
  @TempDir Path home;
  @TempDir Path dir;
  TestDb.Url db;

  record Result(int exit, String out, String err) {}

  @BeforeEach
  void files() throws Exception {
    db = TestDb.freshUrl();
    Files.createDirectories(dir.resolve("defs"));
    Files.writeString(dir.resolve("defs/stats.csv"), TrainingSetTest.STATS);
    Files.writeString(dir.resolve("defs/profiles.csv"), TrainingSetTest.PROFILES);
    Files.writeString(dir.resolve("defs/features.yaml"), TrainingSetTest.DEFS);
  }

  Result kiln(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.kiln.engine.cli.Main");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().put("KILN_HOME", home.toString());
    pb.environment().put("KILN_DB_URL", db.url());
    pb.environment().put("KILN_DB_USER", db.user());
    if (db.password() != null) {
      pb.environment().put("KILN_DB_PASSWORD", db.password());
    }
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = pb.start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kiln did not finish: " + Files.readString(err));
    }
    return new Result(
        p.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  @Test
  void applyTrainMaterializeAndGetFromTheCommandLine() throws Exception {
    Result apply = kiln("features", "apply", "defs");
    assertThat(apply.exit()).as(apply.err()).isZero();
    assertThat(apply.out()).contains("service  churn", "version 1    new");
    assertThat(kiln("features", "list").out()).contains("customer_stats", "churn");
    assertThat(kiln("features", "show", "churn").out())
        .contains("service churn (current: version 1)", "customer_stats");

    Files.writeString(
        dir.resolve("entities.csv"),
        "customer_id,event_timestamp,label\n1,2024-01-05T00:00:00Z,1\n");
    Result ts =
        kiln(
            "features",
            "training-set",
            "--service",
            "churn",
            "--entities",
            "entities.csv",
            "--out",
            "train.csv");
    assertThat(ts.exit()).as(ts.err()).isZero();
    assertThat(Files.readAllLines(dir.resolve("train.csv")))
        .containsExactly(
            "customer_id,event_timestamp,label,customer_stats__spend,customer_stats__n_orders,profile__segment",
            "1,2024-01-05T00:00:00.000000Z,1,55.0,6,gold");

    Result m = kiln("features", "materialize", "--end", "2024-01-06T00:00:00Z");
    assertThat(m.exit()).as(m.err()).isZero();
    assertThat(m.out()).contains("customer_stats: 1 rows", "profile: 2 rows");
    Result get =
        kiln(
            "features",
            "get",
            "--service",
            "churn",
            "customer_id=1",
            "--json",
            "--at",
            "2024-01-06T00:00:00Z");
    assertThat(get.exit()).as(get.err()).isZero();
    assertThat(Json.MAPPER.readTree(get.out()))
        .isEqualTo(
            Json.MAPPER.readTree(
                """
                {"features": {"customer_stats__spend": 55.0, "customer_stats__n_orders": 6,
                              "profile__segment": "gold"},
                 "status": {"customer_stats__spend": "present", "customer_stats__n_orders": "present",
                            "profile__segment": "present"}}"""));

    // Bad input: one clear line, exit 2.
    Result unknown = kiln("features", "get", "--service", "nope", "customer_id=1");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).isEqualTo("kiln: no feature service 'nope'\n");
    Result noTs =
        kiln(
            "features",
            "training-set",
            "--service",
            "churn",
            "--entities",
            "defs/profiles.csv",
            "--out",
            "x.parquet");
    assertThat(noTs.exit()).isEqualTo(2);
    assertThat(noTs.err())
        .startsWith("kiln: entities defs/profiles.csv: no column 'event_timestamp'");
    assertThat(dir.resolve("x.parquet")).doesNotExist();
    Files.writeString(
        dir.resolve("defs/features.yaml"),
        TrainingSetTest.DEFS.replace("profile:segment", "profile:sgment"));
    Result bad = kiln("features", "apply", "defs");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err())
        .isEqualTo(
            "kiln: defs/features.yaml:21:58: service 'churn': view 'profile' has no feature 'sgment' — did you mean 'segment'?\n");
  }

  @Test
  void theServerAnswersOnlineLookups() throws Exception {
    Database database = Database.connect(db.url(), db.user(), db.password(), 4);
    try (Engine engine =
        new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), database)) {
      FeatureStore store = new FeatureStore(engine);
      store.apply(DefinitionsParser.parseDir(dir.resolve("defs")));
      FeaturesCommand.materialize(store, List.of("profile"), java.time.Instant.now());
      String token = new TokenStore(database).create("features-test", Role.VIEWER);
      Files.createDirectories(dir.resolve("pipelines"));
      try (KilnServer server =
          new KilnServer(
              engine,
              new KilnServer.Options("127.0.0.1", 0, dir.resolve("pipelines"), 0, Map.of()),
              new PrintStream(new ByteArrayOutputStream()))) {
        server.start();
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + server.port() + "/api/features/online?service=";
        HttpResponse<String> ok =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "churn&customer_id=2"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);
        JsonNode body = Json.MAPPER.readTree(ok.body());
        assertThat(body.at("/features/profile__segment").asText()).isEqualTo("silver");
        assertThat(body.at("/status/profile__segment").asText()).isEqualTo("present");
        assertThat(body.at("/status/customer_stats__spend").asText()).isEqualTo("missing");
        HttpResponse<String> missingKey =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "churn&store=2"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(missingKey.statusCode()).isEqualTo(400);
        assertThat(Json.MAPPER.readTree(missingKey.body()).get("error").asText())
            .startsWith("missing key 'customer_id'");
        HttpResponse<String> noService =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "nope&customer_id=2"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(noService.statusCode()).isEqualTo(404);
      }
    }
  }
}
