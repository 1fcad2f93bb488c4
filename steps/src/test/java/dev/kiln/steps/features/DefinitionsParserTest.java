package dev.kiln.steps.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Feature files: every mistake reported at once as FILE:LINE:COL, across files. */
class DefinitionsParserTest {
  @TempDir Path dir;

  @Test
  void theContractExampleParsesWithResolvedReferences() throws Exception {
    Definitions d =
        DefinitionsParser.parse(
            Map.of(
                "f.yaml",
                """
                kind: features
                entities:
                  customer: { join_keys: [customer_id] }
                sources:
                  orders: { path: data/customer_stats.csv, timestamp: event_ts, created: created_ts }
                views:
                  customer_stats:
                    entities: [customer]
                    source: orders
                    ttl: 30d                      # optional; no ttl = no lower bound
                    features:
                      spend_30d: { type: float }
                      n_orders: { type: int }
                services:
                  churn_v1: [customer_stats:spend_30d, customer_stats:n_orders]
                """));
    Definitions.View v = d.views().get("customer_stats");
    assertThat(v.joinKeys()).containsExactly("customer_id");
    assertThat(v.ttl()).hasDays(30);
    assertThat(v.source().created()).isEqualTo("created_ts");
    assertThat(d.services().get("churn_v1").features())
        .extracting(Definitions.Ref::column)
        .containsExactly("customer_stats__spend_30d", "customer_stats__n_orders");
  }

  @Test
  void everyMistakeIsReportedWithItsLocation() {
    Map<String, String> files = new LinkedHashMap<>();
    files.put(
        "a.yaml",
        """
        kind: features
        entities:
          customer: { join_keys: [customer_id] }
        sources:
          orders: { path: o.csv, timestamp: ts }
        views:
          stats:
            entities: [custmer]
            source: orders
            ttl: soon
            features:
              spend: { type: decimal }
              n: { type: int }
        services:
          svc: [stats:spend, stats:nn, nope:x, stats]
        """);
    files.put(
        "b.yaml",
        """
        kind: features
        sources:
          orders: { dataset: orders, timestamp: ts, extra: 1 }
        views:
          Bad__Name:
            entities: [customer]
            source: missing
            features: {}
        """);
    assertThatThrownBy(() -> DefinitionsParser.parse(files))
        .isInstanceOf(FeatureException.class)
        .hasMessage(
            String.join(
                "\n",
                "a.yaml:8:16: view 'stats': unknown entity 'custmer' — did you mean 'customer'?",
                "a.yaml:10:10: 'ttl' must be a duration like 30s, 5m, 1h30m, 500ms or PT5M, got 'soon'",
                "a.yaml:12:22: 'type' must be int, float, string or bool, got 'decimal'",
                "a.yaml:15:22: service 'svc': view 'stats' has no feature 'nn' (defined: spend, n)",
                "a.yaml:15:32: service 'svc': unknown view 'nope' (defined: stats, Bad__Name)",
                "a.yaml:15:40: 'stats' is not a feature reference: write view:feature",
                "b.yaml:3:3: duplicate source 'orders' (first defined at a.yaml:5:3)",
                "b.yaml:3:45: unknown key 'extra' (expected one of: path, dataset, format, timestamp, created, description)",
                "b.yaml:5:3: invalid view name 'Bad__Name': use lower-case letters, digits and single '_' (it becomes part of a column name)",
                "b.yaml:7:13: view 'Bad__Name': unknown source 'missing' (defined: orders)",
                "b.yaml:8:15: view 'Bad__Name' needs 'features': a map like { spend: { type: float } }"));
  }

  @Test
  void aFolderIsReadForItsFeatureFilesOnly() throws Exception {
    Files.writeString(dir.resolve("pipeline.yaml"), "name: p\nsteps: {}\n");
    assertThatThrownBy(() -> DefinitionsParser.parseDir(dir))
        .hasMessageContaining("no feature definitions");
    Files.writeString(
        dir.resolve("f.yml"),
        "kind: features\nentities:\n  c: { join_keys: [id] }\n  c: { join_keys: [id2] }\n");
    assertThatThrownBy(() -> DefinitionsParser.parseDir(dir))
        .hasMessage(dir.resolve("f.yml") + ":4:3: duplicate key 'c' (first defined at line 3)");
  }
}
