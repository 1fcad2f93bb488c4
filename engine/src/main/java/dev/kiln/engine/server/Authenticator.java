package dev.kiln.engine.server;

import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.store.TokenStore.Identity;
import dev.kiln.engine.trigger.InvalidRequest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Checks the bearer token of an {@code /api/} request against the store. A verified token is
 * remembered for {@link #CACHE_TTL}, so a request costs a SHA-256 and a map look-up instead of a
 * query; the price is that a revoked token keeps working for at most that long on a server that saw
 * it just before. Unknown tokens are never remembered, so a new token works at once.
 */
final class Authenticator implements Routes.Guard {
  static final Duration CACHE_TTL = Duration.ofSeconds(5);
  static final String NO_TOKEN =
      "no API token exists: run 'kiln tokens create NAME --role admin' on the server's database";

  /** Bounds the memory a flood of distinct valid tokens can take; past it the cache restarts. */
  private static final int MAX_CACHED = 10_000;

  private record Verified(Identity identity, long atNanos) {}

  private final TokenStore tokens;
  private final LongSupplier nanoClock;
  private final long ttlNanos;
  private final Map<String, Verified> cache = new ConcurrentHashMap<>();
  private volatile boolean anyToken;

  Authenticator(TokenStore tokens) {
    this(tokens, System::nanoTime, CACHE_TTL);
  }

  Authenticator(TokenStore tokens, LongSupplier nanoClock, Duration ttl) {
    this.tokens = tokens;
    this.nanoClock = nanoClock;
    this.ttlNanos = ttl.toNanos();
  }

  @Override
  public void require(String authorization, Role needed) throws InvalidRequest {
    Identity who = identify(authorization);
    if (!who.role().allows(needed)) {
      throw new InvalidRequest(
          403,
          "token '"
              + who.name()
              + "' has role "
              + who.role().db()
              + "; this request needs "
              + needed.db());
    }
  }

  Identity identify(String authorization) throws InvalidRequest {
    if (!anyToken) {
      // Tokens are revoked, never deleted: once one exists, this never asks again.
      anyToken = tokens.anyExists();
      if (!anyToken) {
        throw new InvalidRequest(503, NO_TOKEN);
      }
    }
    if (authorization == null || authorization.isBlank()) {
      throw new InvalidRequest(401, "missing header 'Authorization: Bearer TOKEN'");
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new InvalidRequest(401, "the Authorization header must be 'Bearer TOKEN'");
    }
    String token = authorization.substring(7).trim();
    if (!TokenStore.wellFormed(token)) {
      throw new InvalidRequest(401, "unknown or revoked token");
    }
    byte[] hash = TokenStore.sha256(token);
    String key = HexFormat.of().formatHex(hash);
    long now = nanoClock.getAsLong();
    Verified v = cache.get(key);
    if (v != null && now - v.atNanos() < ttlNanos) {
      return v.identity();
    }
    Optional<Identity> found = tokens.verify(hash);
    if (found.isEmpty()) {
      cache.remove(key);
      throw new InvalidRequest(401, "unknown or revoked token");
    }
    if (cache.size() >= MAX_CACHED) {
      cache.clear();
    }
    cache.put(key, new Verified(found.get(), now));
    return found.get();
  }
}
