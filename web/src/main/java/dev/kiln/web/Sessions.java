package dev.kiln.web;

import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.store.TokenStore.Identity;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Signed-in browsers. Logging in with an API token makes a session: a random id (the cookie) that
 * maps to the token's identity here, in memory, so the token itself never travels again and never
 * sits in the browser. A session ends at logout, after {@code ttl}, or within {@link #RECHECK} of
 * its token being revoked (the store is asked again that often). A server restart ends them all.
 */
final class Sessions {
  static final Duration RECHECK = Duration.ofSeconds(5);
  static final Duration DEFAULT_TTL = Duration.ofHours(8);
  private static final int MAX_SESSIONS = 10_000;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A signed-in browser: who it is, its CSRF token, and until when. */
  record Session(
      String id,
      Identity who,
      byte[] tokenHash,
      String csrf,
      long expiresAtNanos,
      long checkedAtNanos) {
    Role role() {
      return who.role();
    }

    boolean csrfMatches(String presented) {
      return presented != null && MessageDigest.isEqual(csrf.getBytes(), presented.getBytes());
    }
  }

  private final TokenStore tokens;
  private final LongSupplier nanoClock;
  private final long ttlNanos;
  private final Map<String, Session> byId = new ConcurrentHashMap<>();

  Sessions(TokenStore tokens, Duration ttl, LongSupplier nanoClock) {
    this.tokens = tokens;
    this.ttlNanos = ttl.toNanos();
    this.nanoClock = nanoClock;
  }

  Duration ttl() {
    return Duration.ofNanos(ttlNanos);
  }

  /** A new session for a valid token, or empty for an unknown, revoked or malformed one. */
  Optional<Session> login(String token) {
    if (token == null || !TokenStore.wellFormed(token.trim())) {
      return Optional.empty();
    }
    byte[] hash = TokenStore.sha256(token.trim());
    Optional<Identity> who = tokens.verify(hash);
    if (who.isEmpty()) {
      return Optional.empty();
    }
    long now = nanoClock.getAsLong();
    if (byId.size() >= MAX_SESSIONS) {
      byId.values().removeIf(s -> now - s.expiresAtNanos() >= 0);
      if (byId.size() >= MAX_SESSIONS) {
        byId.clear(); // a flood of logins: everyone signs in again rather than memory growing
      }
    }
    Session s = new Session(randomId(), who.get(), hash, randomId(), now + ttlNanos, now);
    byId.put(s.id(), s);
    return Optional.of(s);
  }

  /** The live session of a cookie value, or empty when unknown, expired or its token revoked. */
  Optional<Session> find(String id) {
    if (id == null) {
      return Optional.empty();
    }
    Session s = byId.get(id);
    if (s == null) {
      return Optional.empty();
    }
    long now = nanoClock.getAsLong();
    if (now - s.expiresAtNanos() >= 0) {
      byId.remove(id);
      return Optional.empty();
    }
    if (now - s.checkedAtNanos() >= RECHECK.toNanos()) {
      Optional<Identity> who = tokens.verify(s.tokenHash());
      if (who.isEmpty()) {
        byId.remove(id);
        return Optional.empty();
      }
      s = new Session(s.id(), who.get(), s.tokenHash(), s.csrf(), s.expiresAtNanos(), now);
      byId.put(id, s);
    }
    return Optional.of(s);
  }

  void logout(String id) {
    if (id != null) {
      byId.remove(id);
    }
  }

  private static String randomId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
