package dev.kiln.steps.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry commands as a user runs them: separate processes, a real PostgreSQL. */
class RegistryCliTest {
  @TempDir Path home;
  @TempDir Path dir;
  Kiln kiln;

  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final Path FLAGSHIP = REPO.resolve("pipelines/flagship/flagship.yaml");
  static final Path DATA = REPO.resolve("pipelines/flagship/breast_cancer.csv");
  static final Path SCHEMA = REPO.resolve("pipelines/flagship/schema.yaml");

  @BeforeEach
  void setUp() {
    TestDb.Url db = TestDb.freshUrl();
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME",
                home.toString(),
                "KILN_DB_URL",
                db.url(),
                "KILN_DB_USER",
                db.user(),
                "KILN_USER",
                "carol"),
            dir);
  }

  Kiln.Result ok(String... args) throws Exception {
    Kiln.Result r = kiln.run(args);
    assertThat(r.exit()).as("kiln %s\n%s\n%s", String.join(" ", args), r.out(), r.err()).isZero();
    return r;
  }

  Kiln.Result bad(String... args) throws Exception {
    Kiln.Result r = kiln.run(args);
    assertThat(r.exit()).as("kiln %s\n%s", String.join(" ", args), r.out()).isEqualTo(2);
    assertThat(r.err().strip())
        .as("one line, no stack trace")
        .doesNotContain("\n")
        .startsWith("kiln: ");
    return r;
  }

  @Test
  void flagshipThenListShowLineageReproducePromoteRollbackHistoryAndCompare() throws Exception {
    ok(
        "run",
        FLAGSHIP.toString(),
        "-p",
        "data=" + DATA,
        "-p",
        "schema=" + SCHEMA,
        "--tag",
        "team=ml");

    assertThat(ok("models", "list").out()).contains("breast-cancer").contains("production=1");
    assertThat(ok("datasets", "list").out()).contains("breast-cancer").contains("569");
    assertThat(ok("datasets", "show", "breast-cancer").out())
        .contains("version 1")
        .contains("diagnosis VARCHAR")
        .contains("rows 569");
    assertThat(ok("lineage", "breast-cancer@1").out())
        .contains("breast-cancer@1")
        .containsPattern("git commit [0-9a-f]{40}")
        .contains("pipeline version ")
        .contains("└── breast-cancer@1 sha256:")
        .contains("params data=" + DATA);

    assertThat(ok("reproduce", "breast-cancer@1").out())
        .contains("every metric matches")
        .contains("with breast-cancer@1");
    assertThat(ok("models", "show", "breast-cancer").out())
        .contains("1 [production]")
        .contains("accuracy=")
        .contains("carol");

    assertThat(bad("models", "promote", "breast-cancer", "9", "--alias", "production").err())
        .contains("model 'breast-cancer' has no version 9 (versions are 1..2)");
    assertThat(bad("models", "promote", "breast-cancer", "2", "--alias", "prod env").err())
        .contains("alias 'prod env' is not a valid alias");
    assertThat(bad("lineage", "breast-cancer@7").err()).contains("has no version 7");
    assertThat(bad("datasets", "show", "nope").err()).contains("no data set 'nope'");

    assertThat(
            ok(
                    "models",
                    "promote",
                    "breast-cancer",
                    "2",
                    "--alias",
                    "production",
                    "--reason",
                    "manual test")
                .out())
        .contains("production: 1 -> 2");
    assertThat(ok("models", "rollback", "breast-cancer", "--alias", "production").out())
        .contains("production: 2 -> 1");
    assertThat(ok("models", "history", "breast-cancer", "--alias", "production").out())
        .contains("manual test")
        .contains("rollback")
        .contains("carol");
    assertThat(
            ok("models", "history", "breast-cancer", "--alias", "production", "--at", "2000-01-01")
                .out())
        .contains("not set yet");
    assertThat(
            ok("models", "history", "breast-cancer", "--alias", "production", "--at", "2999-01-01")
                .out())
        .contains("version 1");

    assertThat(ok("runs", "tag", "1", "owner=carol", "note=baseline").out())
        .contains("note=baseline owner=carol");
    assertThat(ok("runs", "tag", "1", "--remove", "note").out()).contains("tags: owner=carol");
    assertThat(bad("runs", "tag", "99", "a=b").err()).contains("no run 99");
    // Tags given to kiln run: in the summary, in the list, and as a filter.
    JsonNode tagged = Json.MAPPER.readTree(ok("runs", "--tag", "team=ml", "--json").out());
    assertThat(tagged).hasSize(1);
    assertThat(tagged.get(0).get("run_id").asLong()).isEqualTo(1);
    assertThat(tagged.get(0).get("tags").get("owner").asText()).isEqualTo("carol");
    assertThat(ok("runs").out()).contains("owner=carol team=ml");
    assertThat(ok("runs", "--tag", "team=nlp").out()).contains("no runs match");
    assertThat(bad("run", FLAGSHIP.toString(), "--tag", "oops").err())
        .contains("--tag expects KEY=VALUE, got 'oops'");
    String compare = ok("runs", "compare", "1", "2").out();
    assertThat(compare)
        .contains("run 1")
        .contains("run 2")
        .containsPattern("param seed\\s+7\\s+7")
        .containsPattern("tag owner\\s+carol\\s+-")
        .containsPattern("metric accuracy\\s+0\\.9\\d*\\s+0\\.9");
    String top =
        ok("runs", "--pipeline", "breast-cancer", "--metric", "accuracy", "--top", "5").out();
    assertThat(top.lines().count()).isEqualTo(3);
    assertThat(bad("runs", "--top", "5").err()).contains("--top needs --metric");
  }
}
