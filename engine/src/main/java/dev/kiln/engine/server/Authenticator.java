package dev.kiln.engine.server;

import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.store.TokenStore.Identity;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.util.DaemonThreads;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the bearer token of an {@code /api/} request against the store. A verified token is
 * remembered for {@link #CACHE_TTL}, so a request costs a SHA-256 and a map look-up instead of a
 * query; the price is that a revoked token keeps working for at most that long on a server that saw
 * it just before. Unknown tokens are never remembered, so a new token works at once.
 */
public final class Authenticator implements Routes.Guard {
  static final Duration CACHE_TTL = Duration.ofSeconds(5);
  static final Duration TOUCH_EVERY = Duration.ofMinutes(1);
  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);
  static final String NO_TOKEN =
      "no API token exists: run 'kiln tokens create NAME --role admin' on the server's database";

  /** Bounds the memory a flood of distinct valid tokens can take; past it the cache restarts. */
  private static final int MAX_CACHED = 10_000;

  private record Verified(Identity identity, long atNanos) {}

  private final TokenStore tokens;
  private final LongSupplier nanoClock;
  private final long ttlNanos;
  private final Map<String, Verified> cache = new ConcurrentHashMap<>();
  private final Map<Long, Long> touchedAtNanos = new ConcurrentHashMap<>();
  private final ExecutorService toucher =
      Executors.newSingleThreadExecutor(DaemonThreads.named("kiln-token-last-used"));
  private volatile boolean anyToken;

  public Authenticator(TokenStore tokens) {
    this(tokens, System::nanoTime, CACHE_TTL);
  }

  /** With its own clock and cache time ({@code Duration.ZERO}: every request asks the store). */
  public Authenticator(TokenStore tokens, LongSupplier nanoClock, Duration ttl) {
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
      touch(v.identity(), now);
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
    touch(found.get(), now);
    return found.get();
  }

  private void touch(Identity who, long now) {
    Long last = touchedAtNanos.get(who.id());
    if (last != null && now - last < TOUCH_EVERY.toNanos()) {
      return;
    }
    if (touchedAtNanos.size() >= MAX_CACHED) {
      touchedAtNanos.clear();
    }
    touchedAtNanos.put(who.id(), now);
    toucher.execute(
        () -> {
          try {
            tokens.touch(who.id());
          } catch (RuntimeException e) {
            log.warn("cannot record the use of token '{}': {}", who.name(), e.getMessage());
          }
        });
  }
}
