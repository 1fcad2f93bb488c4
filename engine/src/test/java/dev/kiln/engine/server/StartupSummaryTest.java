package dev.kiln.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What kiln server prints at start, and the warnings about variables it lacks. */
class StartupSummaryTest {
  static final String CHURN =
      """
      name: churn
      triggers:
        - cron: "0 3 * * *"
        - webhook: { path: new-data, secret_env: CHURN_HOOK_SECRET }
        - files: { dir: incoming, glob: "*.csv" }
      steps:
        train: { run: "echo ${{ secrets.API_KEY }}", env: { T: "${{ secrets.DB_PASS }}" } }
      """;

  static List<String> lines(Map<String, String> env, int slots, List<TokenStore.ApiToken> tokens)
      throws Exception {
    Pipeline p = PipelineParser.parse("churn.yaml", CHURN).orThrow();
    return StartupSummary.lines(
        "http://127.0.0.1:8080",
        KilnConfig.from(Map.of("KILN_HOME", "/srv/kiln")),
        slots,
        env,
        tokens,
        Map.of("churn", p),
        Path.of("/srv/work"),
        Instant.parse("2026-01-01T10:00:00Z"));
  }

  @Test
  void summaryNamesStoreWorkersAuthAndEachTriggerWithWarningsForUnsetVariables() throws Exception {
    List<String> out = lines(Map.of("KILN_SECRET_API_KEY", "x"), 4, List.of());
    assertThat(out)
        .containsExactly(
            "  store: embedded PostgreSQL in /srv/kiln/pgdata",
            "  artifacts: /srv/kiln/artifacts",
            out.get(2),
            "  auth: no API tokens yet: /api and the web UI refuse everyone until 'kiln tokens"
                + " create NAME --role admin'",
            "  pipeline churn: cron \"0 3 * * *\" next 2026-01-02T03:00:00Z; webhook"
                + " http://127.0.0.1:8080/hooks/new-data; files /srv/work/incoming/*.csv",
            "warning: churn: webhook 'new-data' needs CHURN_HOOK_SECRET, which is not set: every"
                + " request to it is refused (503)",
            "warning: churn: reads secrets.DB_PASS but KILN_SECRET_DB_PASS is not set here: its"
                + " steps fail on this server's workers");
    assertThat(out.get(2)).startsWith("  workers: 4 slots in this process; executors: ");
  }

  @Test
  void everythingSetMeansNoWarnings() throws Exception {
    List<String> out =
        lines(
            Map.of(
                "KILN_SECRET_API_KEY", "x", "KILN_SECRET_DB_PASS", "y", "CHURN_HOOK_SECRET", "z"),
            4,
            List.of(new TokenStore.ApiToken("ci", Role.ADMIN, Instant.EPOCH, null, null)));
    assertThat(out).noneMatch(l -> l.startsWith("warning"));
    assertThat(out).contains("  auth: 1 active API token");
  }
}
