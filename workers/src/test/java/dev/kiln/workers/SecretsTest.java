package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/security.md, "Secrets" and "What a step can see", through the real CLI: a secret reaches the
 * step only as an environment variable, is masked in everything stored and shown, appears in no
 * column of the store, and a process step's environment holds no store credential.
 */
class SecretsTest {
  static final String TOKEN = "tok-SECRET-value-123";
  static final String OTHER = "other-unreferenced-456";
  static final String KEY = "param-secret-789";

  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void secretsAreMaskedEverywhereStoredNowhereAndStepsSeeNoCredential() throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME",
                home.toString(),
                "KILN_DB_URL",
                db.url(),
                "KILN_DB_USER",
                db.user(),
                "KILN_DB_PASSWORD",
                db.password() == null ? "" : db.password(),
                "PGPASSWORD",
                "pg-password-for-test",
                "KILN_SECRET_TOKEN",
                TOKEN,
                "KILN_SECRET_OTHER",
                OTHER),
            dir);
    Path file = dir.resolve("secrets.yaml");
    Files.writeString(
        file,
        """
        name: secrets
        params:
          key: { type: string, secret: true }
        steps:
          use:
            env: { TOKEN: "${{ secrets.TOKEN }}", AUTH: "Bearer ${{ secrets.TOKEN }}" }
            run: |
              echo "token ${{ secrets.TOKEN }} auth $AUTH key ${{ params.key }}"
              echo "hits=$(tr '\\0' '\\n' < /proc/$$/cmdline | grep -cF -- "$TOKEN")" >> "$KILN_OUTPUTS"
              echo "leak=$TOKEN" >> "$KILN_OUTPUTS"
              echo "k=${{ params.key }}" >> "$KILN_OUTPUTS"
              echo "$TOKEN=1" >> "$KILN_METRICS"
          environment:
            run: env
          fails:
            continue_on_error: true
            env: { TOKEN: "${{ secrets.TOKEN }}" }
            run: echo "not a pair $TOKEN" >> "$KILN_OUTPUTS"
        """);

    var r = kiln.run("run", file.toString(), "-p", "key=" + KEY, "--json");

    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    var summary = Json.MAPPER.readTree(r.out());
    long run = summary.get("run_id").asLong();
    var use = summary.get("steps").get(0);
    assertThat(use.get("outputs").get("hits").asText()).isEqualTo("0");
    assertThat(use.get("outputs").get("leak").asText()).isEqualTo("***");
    assertThat(use.get("outputs").get("k").asText()).isEqualTo("***");
    assertThat(summary.get("params").get("key").asText()).isEqualTo("***");
    assertThat(Hostile.stdout(db, run)).contains("token *** auth Bearer *** key ***");
    var fails = summary.get("steps").get(2);
    assertThat(fails.get("error").asText()).contains("'not a pair ***'");

    String env = String.join("\n", Hostile.stdout(db, run));
    assertThat(env)
        .contains("KILN_OUTPUTS=")
        .doesNotContain("KILN_DB_")
        .doesNotContain("PGPASSWORD")
        .doesNotContain("pg-password-for-test")
        .doesNotContain("KILN_SECRET_")
        .doesNotContain(OTHER);

    assertThat(Hostile.storeColumnsContaining(db, TOKEN)).isEmpty();
    // A secret: true param is sealed where it is kept (runs.params, tasks.spec): no column holds
    // it, while the step received it (its output k was masked, so it held the value itself).
    assertThat(Hostile.storeColumnsContaining(db, KEY)).isEmpty();
    assertThat(Hostile.storeColumnsContaining(db, "kiln:sealed:v1:"))
        .contains("runs.params", "tasks.spec");
    for (String[] args :
        new String[][] {
          {"logs", String.valueOf(run)},
          {"runs", "--json"},
          {"runs", "show", String.valueOf(run)},
          {"runs", "show", String.valueOf(run), "--json"}
        }) {
      var shown = kiln.run(args);
      assertThat(shown.exit()).as(shown.err()).isEqualTo(0);
      assertThat(shown.out() + shown.err())
          .as(String.join(" ", args))
          .contains("***")
          .doesNotContain(TOKEN)
          .doesNotContain(KEY);
    }
  }
}
