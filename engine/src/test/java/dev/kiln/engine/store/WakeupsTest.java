package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGNotification;

class WakeupsTest {
  private Database db;
  private Listener listen;

  @BeforeEach
  void setUp() {
    db = TestDb.fresh(4);
    listen = Listener.open(db, "kiln_test");
  }

  @AfterEach
  void tearDown() {
    listen.close();
    db.close();
  }

  /** Notifications on kiln_test until {@code last} arrives. */
  private List<PGNotification> until(String last) throws Exception {
    List<PGNotification> seen = new ArrayList<>();
    Await.until(
        "notification " + last,
        Duration.ofSeconds(10),
        () -> {
          seen.addAll(List.of(listen.await(100)));
          return seen.stream().anyMatch(n -> n.getParameter().equals(last));
        });
    return seen;
  }

  @Test
  void aTransactionsWakeUpsComeFromAnotherSessionAfterItsCommit() throws Exception {
    int[] workPid = new int[1];
    db.tx()
        .run(
            c -> {
              workPid[0] = Sql.one(c, "select pg_backend_pid()", rs -> rs.getInt(1)).orElseThrow();
              Wakeups.send(c, "kiln_test", "one");
              Wakeups.send(c, "kiln_test", "one"); // folded, as PostgreSQL folds them
              // Not sent yet: nothing in this transaction notifies, so its commit takes no
              // notify lock and can share its WAL flush with other commits.
              assertThat(listen.await(50)).isEmpty();
            });
    List<PGNotification> seen = until("one");
    assertThat(seen).extracting(PGNotification::getParameter).containsExactly("one");
    assertThat(seen.get(0).getPID()).isNotEqualTo(workPid[0]);
  }

  @Test
  void aRolledBackTransactionWakesNobody() throws Exception {
    assertThatThrownBy(
            () ->
                db.tx()
                    .run(
                        c -> {
                          Wakeups.send(c, "kiln_test", "rolled back");
                          throw new IllegalStateException("boom");
                        }))
        .hasMessage("boom");
    db.tx().run(c -> Wakeups.send(c, "kiln_test", "committed"));
    assertThat(until("committed"))
        .extracting(PGNotification::getParameter)
        .containsExactly("committed");
  }

  @Test
  void aStatementOutsideATransactionOfTheStoreNotifiesInline() throws Exception {
    try (var c = db.dataSource().getConnection()) {
      int pid = Sql.one(c, "select pg_backend_pid()", rs -> rs.getInt(1)).orElseThrow();
      Wakeups.send(c, "kiln_test", "inline");
      assertThat(until("inline").get(0).getPID()).isEqualTo(pid);
    }
  }

  @Test
  void closingTheStoreSendsWhatIsPending() throws Exception {
    db.tx().run(c -> Wakeups.send(c, "kiln_test", "last"));
    db.close();
    assertThat(until("last")).extracting(PGNotification::getParameter).containsExactly("last");
  }
}
