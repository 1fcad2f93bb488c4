package dev.kiln.engine.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.engine.trigger.InvalidRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The token check against a real PostgreSQL, with the cache's clock in the test's hands. */
class AuthenticatorTest {
  Database db;
  TokenStore tokens;
  final AtomicLong clock = new AtomicLong(1_000_000_000L);
  Authenticator auth;

  @BeforeEach
  void open() {
    TestDb.Url url = TestDb.freshUrl();
    db = Database.connect(url.url(), url.user(), url.password(), 4);
    tokens = new TokenStore(db);
    auth = new Authenticator(tokens, clock::get, Duration.ofSeconds(5));
  }

  @AfterEach
  void close() {
    db.close();
  }

  private static int status(ThrowingCall call) {
    try {
      call.run();
      return 200;
    } catch (InvalidRequest e) {
      return e.status();
    }
  }

  private interface ThrowingCall {
    void run() throws InvalidRequest;
  }

  @Test
  void noTokenAtAllIs503UntilTheFirstIsCreated() throws Exception {
    assertThatThrownBy(() -> auth.require("Bearer kiln_x", Role.VIEWER))
        .hasMessage(Authenticator.NO_TOKEN);
    String admin = tokens.create("first", Role.ADMIN);
    auth.require("Bearer " + admin, Role.ADMIN);
  }

  @Test
  void rolesAreOrdered() throws Exception {
    String viewer = tokens.create("v", Role.VIEWER);
    String operator = tokens.create("o", Role.OPERATOR);
    assertThat(status(() -> auth.require("Bearer " + viewer, Role.VIEWER))).isEqualTo(200);
    assertThat(status(() -> auth.require("Bearer " + viewer, Role.OPERATOR))).isEqualTo(403);
    assertThat(status(() -> auth.require("bearer " + operator, Role.OPERATOR))).isEqualTo(200);
    assertThat(status(() -> auth.require("Bearer " + operator, Role.ADMIN))).isEqualTo(403);
    assertThat(status(() -> auth.require(null, Role.VIEWER))).isEqualTo(401);
    assertThat(status(() -> auth.require("Token " + viewer, Role.VIEWER))).isEqualTo(401);
  }

  @Test
  void aRevokedTokenWorksAtMostUntilItsCacheEntryExpires() throws Exception {
    String token = tokens.create("ci", Role.OPERATOR);
    auth.require("Bearer " + token, Role.OPERATOR);
    assertThat(tokens.revoke("ci")).isTrue();

    clock.addAndGet(Duration.ofMillis(4_900).toNanos());
    assertThat(status(() -> auth.require("Bearer " + token, Role.OPERATOR)))
        .as("still cached")
        .isEqualTo(200);
    clock.addAndGet(Duration.ofMillis(200).toNanos());
    assertThat(status(() -> auth.require("Bearer " + token, Role.OPERATOR))).isEqualTo(401);
    assertThat(tokens.revoke("ci")).isFalse();
  }

  @Test
  void aNewTokenWorksAtOnceAndAnUnknownOneIsNotRemembered() throws Exception {
    tokens.create("other", Role.VIEWER);
    String forged = "kiln_" + "A".repeat(43);
    assertThat(status(() -> auth.require("Bearer " + forged, Role.VIEWER))).isEqualTo(401);
    String fresh = tokens.create("fresh", Role.VIEWER);
    assertThat(status(() -> auth.require("Bearer " + fresh, Role.VIEWER))).isEqualTo(200);
  }

  @Test
  void lastUsedIsRecordedOffTheRequestPathAtMostOnceAMinute() throws Exception {
    String token = tokens.create("ci", Role.VIEWER);
    auth.require("Bearer " + token, Role.VIEWER);
    Await.until(
        "last_used_at to be set",
        Duration.ofSeconds(10),
        () -> tokens.list().get(0).lastUsedAt() != null);
    var first = tokens.list().get(0).lastUsedAt();

    clock.addAndGet(Duration.ofSeconds(30).toNanos());
    auth.require("Bearer " + token, Role.VIEWER);
    clock.addAndGet(Duration.ofSeconds(31).toNanos());
    auth.require("Bearer " + token, Role.VIEWER);
    Await.until(
        "last_used_at to move after a minute",
        Duration.ofSeconds(10),
        () -> tokens.list().get(0).lastUsedAt().isAfter(first));
  }

  @Test
  void duplicateNamesAndBadNamesAreRefusedAndARevokedNameMayBeReused() {
    tokens.create("ci", Role.VIEWER);
    assertThatThrownBy(() -> tokens.create("ci", Role.ADMIN))
        .isInstanceOf(TokenStore.TokenException.class)
        .hasMessageContaining("already exists");
    assertThatThrownBy(() -> tokens.create("no spaces", Role.ADMIN))
        .isInstanceOf(TokenStore.TokenException.class);
    tokens.revoke("ci");
    tokens.create("ci", Role.ADMIN);
    assertThat(tokens.list())
        .extracting(TokenStore.ApiToken::role)
        .containsExactly(Role.ADMIN, Role.VIEWER);
  }
}
