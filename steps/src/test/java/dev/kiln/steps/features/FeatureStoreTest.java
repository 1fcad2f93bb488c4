package dev.kiln.steps.features;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.FeatureRegistry;
import dev.kiln.engine.registry.OnlineStore;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Definitions as versions, materialization and online values, against a real PostgreSQL. */
class FeatureStoreTest {
  @TempDir Path home;
  @TempDir Path dir;
  Engine engine;
  FeatureStore store;

  @BeforeEach
  void open() throws Exception {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
    store = new FeatureStore(engine);
    Files.writeString(dir.resolve("stats.csv"), TrainingSetTest.STATS);
    Files.writeString(dir.resolve("profiles.csv"), TrainingSetTest.PROFILES);
    Files.writeString(dir.resolve("features.yaml"), TrainingSetTest.DEFS);
  }

  @AfterEach
  void close() {
    engine.close();
  }

  List<String> applied() throws Exception {
    return store.apply(DefinitionsParser.parseDir(dir)).stream()
        .map(
            a ->
                a.definition().kind()
                    + " "
                    + a.definition().ref()
                    + (a.created() ? " new" : " unchanged"))
        .toList();
  }

  @Test
  void definitionsAreVersionsKeyedByContentAndAServiceFollowsItsViews() throws Exception {
    assertThat(applied())
        .containsExactly(
            "entity customer@1 new",
            "source stats@1 new",
            "source profiles@1 new",
            "view customer_stats@1 new",
            "view profile@1 new",
            "service churn@1 new");
    assertThat(applied()).allMatch(s -> s.endsWith("@1 unchanged"));
    Files.writeString(
        dir.resolve("features.yaml"), TrainingSetTest.DEFS.replace("ttl: 2d", "ttl: 3d"));
    assertThat(applied())
        .contains("view customer_stats@2 new", "service churn@2 new", "view profile@1 unchanged");
    // Back to the first text: its versions become current again, no new numbers.
    Files.writeString(dir.resolve("features.yaml"), TrainingSetTest.DEFS);
    assertThat(applied()).contains("view customer_stats@1 unchanged", "service churn@1 unchanged");
    assertThat(store.service("churn").version()).isEqualTo(1);
    assertThat(store.view("customer_stats").ttl()).hasDays(2);
    assertThat(store.registry().current())
        .extracting(FeatureRegistry.Definition::ref)
        .contains("customer_stats@1", "churn@1");
  }

  /** The offline point-in-time values of every customer at {@code at}, by column. */
  List<List<Object>> offline(Instant at, List<String> customers) throws Exception {
    StringBuilder e = new StringBuilder("customer_id,event_timestamp\n");
    customers.forEach(c -> e.append(c).append(',').append(at).append('\n'));
    Files.writeString(dir.resolve("entities.csv"), e);
    FeatureStore.Service s = store.service("churn");
    List<List<Object>> out = new ArrayList<>();
    try (FeatureTables t = FeatureTables.open(engine);
        Statement st = t.connection().createStatement();
        ResultSet rs =
            st.executeQuery(
                TrainingSet.query(
                    t,
                    t.table("entities.csv", dir, null),
                    "event_timestamp",
                    s.views(),
                    s.refs()))) {
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (Definitions.Ref r : s.refs()) {
          row.add(rs.getObject(r.column()));
        }
        out.add(row);
      }
    }
    return out;
  }

  List<List<Object>> online(Instant at, List<String> customers) {
    OnlineStore.Lookup l = store.online().lookup("churn", Map.of("customer_id", customers), at);
    List<List<Object>> out = new ArrayList<>();
    for (int i = 0; i < customers.size(); i++) {
      List<Object> row = new ArrayList<>();
      for (Object values : l.features().values()) {
        Object v = ((List<?>) values).get(i);
        row.add(v instanceof Integer n ? Long.valueOf(n) : v);
      }
      out.add(row);
    }
    return out;
  }

  @Test
  void onlineValuesAfterMaterializationEqualOfflineValuesAtTheSameMoment() throws Exception {
    applied();
    List<String> customers = List.of("1", "2", "3");
    Instant t1 = Instant.parse("2024-01-06T00:00:00Z");
    List<Materializer.Result> first = FeaturesCommand.materialize(store, List.of(), t1);
    // customer 2's only row (01-03) is older than the 2-day ttl before t1: not loaded
    assertThat(first).extracting(Materializer.Result::rows).containsExactly(1L, 2L);
    assertThat(online(t1, customers)).isEqualTo(offline(t1, customers));
    assertThat(online(t1, customers).get(0)).containsExactly(55.0, 6L, "gold");

    // New and late rows arrive; the next run loads only what is after the watermark.
    Files.writeString(
        dir.resolve("stats.csv"),
        TrainingSetTest.STATS + "2,2024-01-07T00:00:00Z,2024-01-07T00:00:00Z,9.0,3\n");
    Instant t2 = Instant.parse("2024-01-08T00:00:00Z");
    List<Materializer.Result> second = FeaturesCommand.materialize(store, List.of(), t2);
    assertThat(second).extracting(Materializer.Result::rows).containsExactly(1L, 0L);
    assertThat(online(t2, customers)).isEqualTo(offline(t2, customers));
    assertThat(store.registry().watermark("customer_stats")).contains(t2);

    // Ttl online: at t3, customer 1's latest row (01-05) is older than 2 days.
    Instant t3 = Instant.parse("2024-01-09T00:00:00Z");
    OnlineStore.Lookup l = store.online().lookup("churn", Map.of("customer_id", List.of("1")), t3);
    assertThat(l.features())
        .containsEntry("customer_stats__spend", null)
        .containsEntry("profile__segment", "gold");
    assertThat(l.status())
        .containsEntry("customer_stats__spend", OnlineStore.OUTSIDE_TTL)
        .containsEntry("profile__segment", OnlineStore.PRESENT);
    assertThat(store.online().lookup("churn", Map.of("customer_id", List.of("3")), t3).status())
        .containsEntry("customer_stats__spend", OnlineStore.MISSING);
    // The plan of the lookup's one statement: it reads the online table and was executed.
    assertThat(store.online().explain("churn", Map.of("customer_id", List.of("1"))))
        .contains("feature_online")
        .contains("actual time");

    // Definitions applied elsewhere (as by another process): the next lookup reads them, not the
    // service it resolved and cached before.
    Files.writeString(
        dir.resolve("features.yaml"), TrainingSetTest.DEFS.replace("ttl: 2d", "ttl: 5d"));
    new FeatureStore(engine).apply(DefinitionsParser.parseDir(dir));
    assertThat(store.online().lookup("churn", Map.of("customer_id", List.of("1")), t3).features())
        .containsEntry("customer_stats__spend", 55.0);
  }

  @Test
  void aLookupIsPlannedOncePerConnectionAndManyEntitiesAnswerAsOneAtATime() throws Exception {
    // One connection, so every lookup runs on the session whose prepared statements we read
    // (migrated first over two: the migration takes two connections).
    TestDb.Url u = TestDb.freshUrl();
    Database.connect(u.url(), u.user(), u.password(), 2).close();
    try (Engine one =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(u.url(), u.user(), u.password(), 1))) {
      FeatureStore s = new FeatureStore(one);
      s.apply(DefinitionsParser.parseDir(dir));
      Instant at = Instant.parse("2024-01-06T00:00:00Z");
      FeaturesCommand.materialize(s, List.of(), at);
      for (int i = 0; i < 12; i++) {
        s.online().lookup("churn", Map.of("customer_id", List.of(String.valueOf(i % 3))), at);
      }
      // The server keeps one generic plan (an array's estimate depends on its value: custom
      // plans, planned again at every execution, as long as the statement sent arrays).
      List<long[]> plans =
          one.db()
              .tx()
              .autocommit(
                  c ->
                      Sql.query(
                          c,
                          "select generic_plans, custom_plans from pg_prepared_statements"
                              + " where statement like '%join feature_online o%'",
                          rs -> new long[] {rs.getLong(1), rs.getLong(2)}));
      assertThat(plans).hasSize(1);
      assertThat(plans.get(0)[0]).as("generic plans").isGreaterThanOrEqualTo(2);
      assertThat(plans.get(0)[1]).as("custom plans").isLessThanOrEqualTo(5);

      // More entities than one VALUES list holds are read through arrays: the same answers.
      List<String> many = new ArrayList<>();
      for (int i = 0; i < OnlineStore.LISTED_PAIRS; i++) {
        many.add(String.valueOf(i % 4));
      }
      OnlineStore.Lookup all = s.online().lookup("churn", Map.of("customer_id", many), at);
      for (int i = 0; i < 4; i++) {
        OnlineStore.Lookup single =
            s.online().lookup("churn", Map.of("customer_id", List.of(many.get(i))), at);
        for (var e : single.features().entrySet()) {
          assertThat(((List<?>) all.features().get(e.getKey())).get(i)).isEqualTo(e.getValue());
          assertThat(((List<?>) all.status().get(e.getKey())).get(i))
              .isEqualTo(single.status().get(e.getKey()));
        }
      }
      assertThat(((List<?>) all.features().get("customer_stats__spend")).get(1)).isEqualTo(55.0);
      assertThat(((List<?>) all.status().get("profile__segment")).get(3))
          .isEqualTo(OnlineStore.MISSING);
    }
  }

  @Test
  void skewIsZeroAfterMaterializationAndMeasuredWhenTheSourceIsCorrectedLater() throws Exception {
    applied();
    FeaturesCommand.materialize(store, List.of(), Instant.parse("2024-01-06T00:00:00Z"));
    try (FeatureTables t = FeatureTables.open(engine)) {
      SkewCheck.Result r = SkewCheck.run(store, t, "churn", 10);
      assertThat(r.entities()).isEqualTo(2);
      assertThat(r.values()).isEqualTo(6);
      assertThat(r.skew()).isZero();
    }
    // A correction of customer 1's row, written after the online table was loaded.
    Files.writeString(
        dir.resolve("stats.csv"),
        TrainingSetTest.STATS + "1,2024-01-05T00:00:00Z,2024-01-07T00:00:00Z,99.0,6\n");
    try (FeatureTables t = FeatureTables.open(engine)) {
      SkewCheck.Result r = SkewCheck.run(store, t, "churn", 10);
      assertThat(r.mismatches()).isEqualTo(1);
      assertThat(r.examples()).singleElement().asString().contains("offline 99.0, online 55.0");
    }
  }
}
