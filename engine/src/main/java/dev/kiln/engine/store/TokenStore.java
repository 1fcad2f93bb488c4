package dev.kiln.engine.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * API tokens: created (the token is returned once and only its SHA-256 is stored), listed, revoked,
 * and looked up by hash when a request presents one.
 */
public final class TokenStore {
  /** A token as listed: never the token itself. */
  public record ApiToken(
      String name, Role role, Instant createdAt, Instant lastUsedAt, Instant revokedAt) {}

  /** Who a presented token belongs to. */
  public record Identity(long id, String name, Role role) {}

  /** A token was asked for in a way the store refuses: the message says why, for the user. */
  public static final class TokenException extends RuntimeException {
    TokenException(String message) {
      super(message);
    }
  }

  public static final String PREFIX = "kiln_";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Database db;

  public TokenStore(Database db) {
    this.db = db;
  }

  /** Creates a token named {@code name} and returns it; it cannot be read back later. */
  public String create(String name, Role role) {
    return createAll(List.of(name), role).get(0);
  }

  /** Creates one token per name in one transaction: all of them or, on any error, none. */
  public List<String> createAll(List<String> names, Role role) {
    for (String name : names) {
      checkName(name);
    }
    List<String> tokens = new ArrayList<>(names.size());
    try {
      db.tx()
          .run(
              c -> {
                try (PreparedStatement ps =
                    c.prepareStatement(
                        "insert into api_tokens (name, role, token_sha256) values (?, ?, ?)")) {
                  for (String name : names) {
                    String token = newToken();
                    tokens.add(token);
                    ps.setString(1, name);
                    ps.setString(2, role.db());
                    ps.setBytes(3, sha256(token));
                    ps.addBatch();
                  }
                  ps.executeBatch();
                }
              });
    } catch (StoreException e) {
      if (uniqueViolation(e)) {
        throw new TokenException(
            (names.size() == 1 ? "a token named '" + names.get(0) + "'" : "one of these tokens")
                + " already exists; revoke it first ('kiln tokens revoke NAME') or pick another"
                + " name");
      }
      throw e;
    }
    return tokens;
  }

  /** Every token, active ones first, then by name; revoked ones are kept for the record. */
  public List<ApiToken> list() {
    return db.tx()
        .autocommit(
            c ->
                Sql.query(
                    c,
                    """
        select name, role, created_at, last_used_at, revoked_at from api_tokens
         order by revoked_at is not null, name, created_at""",
                    rs ->
                        new ApiToken(
                            rs.getString("name"),
                            Role.parse(rs.getString("role")),
                            Sql.instant(rs, "created_at"),
                            Sql.instant(rs, "last_used_at"),
                            Sql.instant(rs, "revoked_at"))));
  }

  /** Revokes the active token named {@code name}; false when there is none. */
  public boolean revoke(String name) {
    return db.tx()
            .autocommit(
                c ->
                    Sql.update(
                        c,
                        "update api_tokens set revoked_at = now()"
                            + " where name = ? and revoked_at is null",
                        name))
        > 0;
  }

  /** Whether any token was ever created (a server with none tells how to create the first). */
  public boolean anyExists() {
    return db.tx()
        .autocommit(
            c ->
                Sql.one(c, "select exists (select 1 from api_tokens)", rs -> rs.getBoolean(1))
                    .orElse(false));
  }

  /** The identity of the active token with this SHA-256, if any. */
  public Optional<Identity> verify(byte[] tokenSha256) {
    return db.tx()
        .autocommit(
            c ->
                Sql.one(
                    c,
                    "select id, name, role from api_tokens"
                        + " where token_sha256 = ? and revoked_at is null",
                    rs ->
                        new Identity(
                            rs.getLong("id"),
                            rs.getString("name"),
                            Role.parse(rs.getString("role"))),
                    tokenSha256));
  }

  /** Records that the token was used just now. */
  public void touch(long id) {
    db.tx()
        .autocommit(
            c -> Sql.update(c, "update api_tokens set last_used_at = now() where id = ?", id));
  }

  /** Whether a presented value looks like a Kiln token at all (before any look-up). */
  public static boolean wellFormed(String token) {
    return token.length() == PREFIX.length() + 43
        && token.startsWith(PREFIX)
        && token.chars().skip(PREFIX.length()).allMatch(TokenStore::base64Url);
  }

  public static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  private static String newToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static boolean base64Url(int ch) {
    return (ch >= 'A' && ch <= 'Z')
        || (ch >= 'a' && ch <= 'z')
        || (ch >= '0' && ch <= '9')
        || ch == '-'
        || ch == '_';
  }

  private static void checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new TokenException(
          "token name '"
              + name
              + "' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or"
              + " digit");
    }
  }

  private static boolean uniqueViolation(StoreException e) {
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && "23505".equals(sql.getSQLState())) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getNextException() != null) {
        if ("23505".equals(sql.getNextException().getSQLState())) {
          return true;
        }
      }
    }
    return false;
  }
}
