package dev.kiln.steps.features;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The point-in-time rules, each against rows checked by hand. */
class TrainingSetTest {
  @TempDir Path dir;

  static final String DEFS =
      """
      kind: features
      entities:
        customer: { join_keys: [customer_id] }
      sources:
        stats: { path: stats.csv, timestamp: event_ts, created: created_ts }
        profiles: { path: profiles.csv, timestamp: ts }
      views:
        customer_stats:
          entities: [customer]
          source: stats
          ttl: 2d
          features:
            spend: { type: float }
            n_orders: { type: int }
        profile:
          entities: [customer]
          source: profiles
          features:
            segment: { type: string }
      services:
        churn: [customer_stats:spend, customer_stats:n_orders, profile:segment]
      """;

  static final String STATS =
      """
      customer_id,event_ts,created_ts,spend,n_orders
      1,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z,10.0,1
      1,2024-01-05T00:00:00Z,2024-01-06T00:00:00Z,55.0,6
      1,2024-01-05T00:00:00Z,2024-01-05T00:00:00Z,50.0,5
      1,2024-01-10T00:00:00Z,2024-01-10T00:00:00Z,100.0,10
      2,2024-01-03T00:00:00Z,2024-01-03T00:00:00Z,7.5,2
      """;

  static final String PROFILES =
      """
      customer_id,ts,segment
      1,2023-06-01T00:00:00Z,gold
      2,2024-01-04T00:00:00Z,silver
      """;

  Definitions defs(String yaml) throws Exception {
    Files.writeString(dir.resolve("features.yaml"), yaml);
    return DefinitionsParser.parseDir(dir);
  }

  List<String> trainingSet(Definitions d, String service, String entities) throws Exception {
    Files.writeString(dir.resolve("entities.csv"), entities);
    Definitions.Service s = d.services().get(service);
    List<Definitions.View> views = new ArrayList<>();
    for (Definitions.Ref r : s.features()) {
      if (!views.contains(d.views().get(r.view()))) {
        views.add(d.views().get(r.view()));
      }
    }
    Path out = dir.resolve("out/training.csv");
    try (FeatureTables t = FeatureTables.open(null)) {
      FeatureTables.Table e = t.table("entities.csv", dir, null);
      TrainingSet.write(t, e, TrainingSet.DEFAULT_TIMESTAMP, views, s.features(), out);
    }
    return Files.readAllLines(out);
  }

  @Test
  void eachEntityRowGetsTheLatestFeatureRowAtOrBeforeItsTimeWithinTtl() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    List<String> rows =
        trainingSet(
            defs(DEFS),
            "churn",
            """
            customer_id,event_timestamp,label
            1,2024-01-05T00:00:00Z,1
            1,2024-01-04T23:59:59Z,0
            1,2024-01-03T00:00:00Z,0
            3,2024-01-05T00:00:00Z,1
            1,2024-01-05T00:00:00Z,1
            2,2024-01-02T00:00:00Z,0
            2,2024-01-05T00:00:00Z,1
            1,2024-01-12T00:00:01Z,1
            """);
    assertThat(rows)
        .containsExactly(
            "customer_id,event_timestamp,label,customer_stats__spend,customer_stats__n_orders,profile__segment",
            // equal event time counts (inclusive); of two rows at 01-05 the later created wins
            "1,2024-01-05T00:00:00.000000Z,1,55.0,6,gold",
            // the latest row before is 01-01, more than 2d earlier: outside the ttl
            "1,2024-01-04T23:59:59.000000Z,0,,,gold",
            // exactly 2d earlier: inside (inclusive lower bound)
            "1,2024-01-03T00:00:00.000000Z,0,10.0,1,gold",
            // no feature rows for customer 3: the row stays, with nulls
            "3,2024-01-05T00:00:00.000000Z,1,,,",
            // duplicate entity rows are kept, in input order
            "1,2024-01-05T00:00:00.000000Z,1,55.0,6,gold",
            // features from after the entity's time never leak into it
            "2,2024-01-02T00:00:00.000000Z,0,,,",
            "2,2024-01-05T00:00:00.000000Z,1,7.5,2,silver",
            // one second past the ttl
            "1,2024-01-12T00:00:01.000000Z,1,,,gold");
  }

  /**
   * The created-time tie-break and the ttl are exact to the microsecond on both order keys: the
   * BIGINT one when the view's times fit it (event times whole days, created times microseconds
   * apart within days), the HUGEINT one when they do not (both to the microsecond, created times
   * centuries apart).
   */
  @Test
  void createdTimeTiesAndTtlAreExactOnTheBigintAndTheHugeintKey() throws Exception {
    String stats =
        """
        customer_id,event_ts,created_ts,spend,n_orders
        1,EARLY,FIRST,10.0,1
        1,2024-01-05T00:00:00Z,LATE.000001Z,55.0,6
        1,2024-01-05T00:00:00Z,LATEZ,50.0,5
        1,2024-01-10T00:00:00Z,2024-01-10T00:00:00Z,100.0,10
        2,2024-01-03T00:00:00Z,,7.5,2
        2,2024-01-03T00:00:00Z,2024-01-03T00:00:00Z,8.5,3
        """;
    String entities =
        """
        customer_id,event_timestamp
        1,2023-12-31T23:59:59Z
        1,2024-01-05T00:00:00Z
        1,2024-01-05T12:00:00Z
        1,2024-01-07T00:00:00Z
        1,2024-01-07T00:00:00.000001Z
        2,2024-01-03T00:00:00Z
        1,2024-01-10T00:00:00Z
        """;
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    Definitions d = defs(DEFS);
    for (boolean wide : List.of(false, true)) {
      Files.writeString(
          dir.resolve("stats.csv"),
          stats
              .replace(
                  "FIRST", wide ? "1970-01-01T00:00:00.000001Z" : "2024-01-01T00:00:00.000002Z")
              .replace("LATE", wide ? "2200-01-06T00:00:00" : "2024-01-06T00:00:00")
              .replace("EARLY", wide ? "2024-01-01T00:00:00.000001Z" : "2024-01-01T00:00:00Z"));
      Files.writeString(dir.resolve("entities.csv"), entities);
      try (FeatureTables t = FeatureTables.open(null)) {
        String q =
            TrainingSet.query(
                t,
                t.table("entities.csv", dir, null),
                TrainingSet.DEFAULT_TIMESTAMP,
                List.of(d.views().get("customer_stats"), d.views().get("profile")),
                d.services().get("churn").features());
        assertThat(q.contains("hugeint")).as("HUGEINT key").isEqualTo(wide);
      }
      assertThat(trainingSet(d, "churn", entities))
          .as(wide ? "HUGEINT key" : "BIGINT key")
          .containsExactly(
              "customer_id,event_timestamp,customer_stats__spend,customer_stats__n_orders,profile__segment",
              // before the view's first row
              "1,2023-12-31T23:59:59.000000Z,,,gold",
              // of two rows at 01-05 the one created 1 microsecond later wins
              "1,2024-01-05T00:00:00.000000Z,55.0,6,gold",
              "1,2024-01-05T12:00:00.000000Z,55.0,6,gold",
              // exactly the ttl (2d) after 01-05: inside; one microsecond more: outside
              "1,2024-01-07T00:00:00.000000Z,55.0,6,gold",
              "1,2024-01-07T00:00:00.000001Z,,,gold",
              // a created time beats none
              "2,2024-01-03T00:00:00.000000Z,8.5,3,",
              // at the view's last row
              "1,2024-01-10T00:00:00.000000Z,100.0,10,gold");
    }
  }

  @Test
  void timestampsWithOffsetsAreUtcAndNaiveOnesAreTakenAsUtc() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    List<String> rows =
        trainingSet(
            defs(DEFS),
            "churn",
            """
            customer_id,event_timestamp
            1,2024-01-05T01:00:00+02:00
            1,2024-01-05 00:00:00
            """);
    assertThat(rows)
        .containsExactly(
            "customer_id,event_timestamp,customer_stats__spend,customer_stats__n_orders,profile__segment",
            "1,2024-01-04T23:00:00.000000Z,,,gold",
            "1,2024-01-05T00:00:00.000000Z,55.0,6,gold");
  }

  @Test
  void inputOrderIsKeptForManyRows() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    StringBuilder e = new StringBuilder("customer_id,event_timestamp,n\n");
    java.util.Random r = new java.util.Random(7);
    for (int i = 0; i < 200_000; i++) {
      e.append(1 + r.nextInt(3))
          .append(",2024-01-0")
          .append(1 + r.nextInt(9))
          .append("T00:00:00Z,")
          .append(i)
          .append('\n');
    }
    Definitions d = defs(DEFS);
    List<String> rows = trainingSet(d, "churn", e.toString());
    assertThat(rows).hasSize(200_001);
    for (int i = 1; i < rows.size(); i++) {
      assertThat(rows.get(i).split(",")[2]).isEqualTo(String.valueOf(i - 1));
    }
  }

  @Test
  void parquetOutputKeepsTypesAndUtcTimestamps() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    Files.writeString(
        dir.resolve("entities.csv"), "customer_id,event_timestamp\n1,2024-01-05T00:00:00Z\n");
    Definitions d = defs(DEFS);
    Definitions.Service s = d.services().get("churn");
    Path out = dir.resolve("t.parquet");
    try (FeatureTables t = FeatureTables.open(null)) {
      TrainingSet.Written w =
          TrainingSet.write(
              t,
              t.table("entities.csv", dir, null),
              "event_timestamp",
              List.of(d.views().get("customer_stats"), d.views().get("profile")),
              s.features(),
              out);
      assertThat(w.rows()).isEqualTo(1);
      try (Statement st = t.connection().createStatement();
          ResultSet rs =
              st.executeQuery(
                  "select typeof(event_timestamp), typeof(customer_stats__n_orders), customer_stats__spend from '"
                      + out
                      + "'")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("TIMESTAMP WITH TIME ZONE");
        assertThat(rs.getString(2)).isEqualTo("BIGINT");
        assertThat(rs.getDouble(3)).isEqualTo(55.0);
      }
    }
  }

  @Test
  void entityFilesWithoutTheTimestampOrWithEmptyKeysAreRefused() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    Definitions d = defs(DEFS);
    assertThatThrownBy(() -> trainingSet(d, "churn", "customer_id,ts\n1,2024-01-05T00:00:00Z\n"))
        .isInstanceOf(FeatureException.class)
        .hasMessageContaining("entities.csv")
        .hasMessageContaining("no column 'event_timestamp'");
    assertThatThrownBy(
            () ->
                trainingSet(
                    d,
                    "churn",
                    "customer_id,event_timestamp\n1,2024-01-05T00:00:00Z\n,2024-01-05T00:00:00Z\n"))
        .isInstanceOf(FeatureException.class)
        .hasMessageContaining("column 'customer_id' is empty in 1 row(s)");
    assertThat(dir.resolve("out/training.csv")).doesNotExist();
  }

  @Test
  void dataThatDoesNotMatchTheDeclarationsIsNamedByViewAndColumn() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS.replace("10.0,1\n", "10.0,many\n"));
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    Definitions d = defs(DEFS);
    assertThatThrownBy(
            () -> trainingSet(d, "churn", "customer_id,event_timestamp\n1,2024-01-05T00:00:00Z\n"))
        .isInstanceOf(FeatureException.class)
        .hasMessage(
            "view 'customer_stats', stats.csv: column 'n_orders' is VARCHAR but the feature is declared int");
    Files.delete(dir.resolve("stats.csv"));
    assertThatThrownBy(
            () -> trainingSet(d, "churn", "customer_id,event_timestamp\n1,2024-01-05T00:00:00Z\n"))
        .isInstanceOf(FeatureException.class)
        .hasMessageStartingWith("stats.csv: no such file");
  }

  @Test
  void aTransformIsDuckDbSqlOverTheSource() throws Exception {
    Files.writeString(dir.resolve("stats.csv"), STATS);
    Files.writeString(dir.resolve("profiles.csv"), PROFILES);
    String yaml =
        DEFS.replace(
            "    features:\n      segment:",
            "    transform: select customer_id, ts, upper(segment) as segment from source\n"
                + "    features:\n      segment:");
    assertThat(yaml).contains("transform");
    List<String> rows =
        trainingSet(defs(yaml), "churn", "customer_id,event_timestamp\n2,2024-01-05T00:00:00Z\n");
    assertThat(rows.get(1)).isEqualTo("2,2024-01-05T00:00:00.000000Z,7.5,2,SILVER");
  }
}
