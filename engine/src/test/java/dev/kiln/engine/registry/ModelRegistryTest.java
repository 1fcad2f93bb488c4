package dev.kiln.engine.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.testing.TestDb;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The model registry against a real PostgreSQL. */
class ModelRegistryTest {
  Database db;
  ModelRegistry models;

  @BeforeEach
  void open() {
    db = TestDb.fresh();
    models = new ModelRegistry(db);
  }

  @AfterEach
  void close() {
    db.close();
  }

  ModelVersion register(String name, String alias) {
    return models.register(
        new ModelRegistry.NewVersion(
            name,
            "ab".repeat(32),
            10,
            "file",
            null,
            null,
            null,
            Map.of("team", "ml"),
            alias,
            "tester",
            "test"));
  }

  long rows(String table) {
    return db.tx()
        .inTransaction(
            c -> Sql.one(c, "select count(*) from " + table, rs -> rs.getLong(1)).orElseThrow());
  }

  @Test
  void concurrentRegistrationsGetDistinctConsecutiveNumbers() throws Exception {
    int threads = 8;
    int each = 5;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<List<Integer>>> futures = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      futures.add(
          pool.submit(
              () -> {
                start.await();
                List<Integer> got = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                  got.add(register("churn", null).version());
                }
                return got;
              }));
    }
    start.countDown();
    List<Integer> all = new ArrayList<>();
    for (var f : futures) {
      all.addAll(f.get());
    }
    pool.shutdown();
    assertThat(all).hasSize(threads * each).doesNotHaveDuplicates();
    assertThat(all).allMatch(v -> v >= 1 && v <= threads * each);
  }

  @Test
  void promoteRollbackAndHistoryAnswerWhichVersionHeldAnAliasWhen() {
    register("churn", "production");
    register("churn", null);
    register("churn", null);
    Instant afterFirst =
        db.tx()
            .inTransaction(
                c -> Sql.one(c, "select now()", rs -> Sql.instant(rs, "now")).orElseThrow());
    ModelRegistry.Move m = models.promote("churn", 3, "production", "alice", "better auc");
    assertThat(m.from()).isEqualTo(1);
    assertThat(m.to()).isEqualTo(3);
    assertThat(models.lookup("churn", "production").orElseThrow().version()).isEqualTo(3);
    assertThat(models.versionAt("churn", "production", afterFirst)).contains(1);
    assertThat(models.versionAt("churn", "production", Instant.now().plusSeconds(60))).contains(3);
    assertThat(models.versionAt("churn", "production", Instant.parse("2000-01-01T00:00:00Z")))
        .isEmpty();

    ModelRegistry.Move back = models.rollback("churn", "production", "bob", null);
    assertThat(back.to()).isEqualTo(1);
    assertThat(models.lookup("churn", "production").orElseThrow().version()).isEqualTo(1);
    List<AliasEvent> h = models.history("churn", "production");
    assertThat(h).extracting(AliasEvent::toVersion).containsExactly(1, 3, 1);
    assertThat(h.get(1).who()).isEqualTo("alice");
    assertThat(h.get(1).why()).isEqualTo("better auc");
    assertThat(h.get(2).fromVersion()).isEqualTo(3);
    assertThat(h.get(2).why()).isEqualTo("rollback");
  }

  @Test
  void badPromotionsAreRefusedNamingTheProblemAndChangeNothing() {
    register("churn", "production");
    long events = rows("model_alias_events");
    assertThatThrownBy(() -> models.promote("churn", 7, "production", "x", null))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("has no version 7");
    assertThatThrownBy(() -> models.promote("churn", 1, "prod env", "x", null))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("alias 'prod env'");
    assertThatThrownBy(() -> models.promote("nope", 1, "production", "x", null))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("no model 'nope'");
    assertThatThrownBy(() -> models.rollback("churn", "production", "x", null))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("nothing to roll back to");
    assertThatThrownBy(() -> register("churn", "Has Space"))
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("alias 'Has Space'");
    assertThat(rows("model_alias_events")).isEqualTo(events);
    assertThat(rows("model_versions")).isEqualTo(1);
    assertThat(models.lookup("churn", "production").orElseThrow().version()).isEqualTo(1);
  }
}
