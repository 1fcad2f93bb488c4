package dev.kiln.engine.trigger;

import dev.kiln.dsl.model.Trigger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks a webhook delivery: HMAC-SHA256 of the raw body in {@code X-Hub-Signature-256:
 * sha256=<hex>} (the GitHub convention) or {@code Authorization: Bearer <token>}. Secrets come from
 * the environment variables the trigger names, never from the YAML. Comparisons are constant-time.
 * The signature is checked over the exact bytes received, before anything parses them, whatever
 * their Content-Type. A hook with {@code require_timestamp} signs {@code TIMESTAMP.BODY}, the
 * timestamp sent in {@code X-Kiln-Timestamp} (Unix seconds) and within {@link #MAX_SKEW_SECONDS} of
 * the server's clock, so a captured delivery cannot be replayed later.
 */
public final class WebhookAuth {
  /** Why a delivery was refused; null when accepted. */
  public record Verdict(int status, String reason) {
    static final Verdict OK = new Verdict(0, null);

    public boolean ok() {
      return reason == null;
    }
  }

  public static final long MAX_SKEW_SECONDS = 300;

  /** The headers of a delivery that authenticate it; any may be null. */
  public record Headers(String signature, String authorization, String timestamp) {}

  private WebhookAuth() {}

  public static Verdict check(
      Trigger.Webhook hook,
      byte[] body,
      Headers headers,
      Map<String, String> env,
      long nowSeconds) {
    if (hook.secretEnv() == null && hook.tokenEnv() == null) {
      return Verdict.OK; // the pipeline says auth: none
    }
    String signatureHeader = headers.signature();
    String authorizationHeader = headers.authorization();
    String secret = hook.secretEnv() == null ? null : env.get(hook.secretEnv());
    String token = hook.tokenEnv() == null ? null : env.get(hook.tokenEnv());
    if (blank(secret) && blank(token)) {
      return new Verdict(
          503,
          "webhook '"
              + hook.path()
              + "' is not configured on this server: "
              + "environment variable "
              + (hook.secretEnv() != null ? hook.secretEnv() : hook.tokenEnv())
              + " is not set");
    }
    if (hook.requireTimestamp()) {
      return timestamped(secret, body, signatureHeader, headers.timestamp(), nowSeconds);
    }
    if (!blank(secret)
        && signatureHeader != null
        && signatureMatches(hmac(secret, body), signatureHeader.trim())) {
      return Verdict.OK;
    }
    if (!blank(token)
        && authorizationHeader != null
        && authorizationHeader.regionMatches(true, 0, "Bearer ", 0, 7)
        && MessageDigest.isEqual(
            token.getBytes(StandardCharsets.UTF_8),
            authorizationHeader.substring(7).trim().getBytes(StandardCharsets.UTF_8))) {
      return Verdict.OK;
    }
    boolean presented = signatureHeader != null || authorizationHeader != null;
    return new Verdict(
        401,
        presented
            ? "signature or token does not match"
            : "missing X-Hub-Signature-256 or Authorization header");
  }

  /** The signature over {@code TIMESTAMP.BODY}: the timestamp is signed with the body. */
  private static Verdict timestamped(
      String secret, byte[] body, String signature, String timestamp, long nowSeconds) {
    if (signature == null || timestamp == null) {
      return new Verdict(
          401, "this hook requires X-Hub-Signature-256 and X-Kiln-Timestamp (Unix seconds)");
    }
    long ts;
    try {
      ts = Long.parseLong(timestamp.trim());
    } catch (NumberFormatException e) {
      return new Verdict(401, "X-Kiln-Timestamp must be Unix seconds");
    }
    if (!signatureMatches(hmac(secret, timestamp.trim(), body), signature.trim())) {
      return new Verdict(401, "signature does not match (signed: X-Kiln-Timestamp '.' body)");
    }
    if (Math.abs(nowSeconds - ts) > MAX_SKEW_SECONDS) {
      return new Verdict(
          401, "X-Kiln-Timestamp is more than 5 minutes away from the server's clock");
    }
    return Verdict.OK;
  }

  public static String sign(String secret, byte[] body) {
    return "sha256=" + HexFormat.of().formatHex(hmac(secret, body));
  }

  /** The signature of a delivery to a hook with {@code require_timestamp: true}. */
  public static String sign(String secret, long timestamp, byte[] body) {
    return "sha256=" + HexFormat.of().formatHex(hmac(secret, Long.toString(timestamp), body));
  }

  private static byte[] hmac(String secret, String timestamp, byte[] body) {
    byte[] prefix = (timestamp + ".").getBytes(StandardCharsets.US_ASCII);
    byte[] signed = new byte[prefix.length + body.length];
    System.arraycopy(prefix, 0, signed, 0, prefix.length);
    System.arraycopy(body, 0, signed, prefix.length, body.length);
    return hmac(secret, signed);
  }

  private static boolean signatureMatches(byte[] expected, String header) {
    if (!header.startsWith("sha256=")) {
      return false;
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(header.substring(7).toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(expected, given);
  }

  private static byte[] hmac(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(body);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  private static boolean blank(String s) {
    return s == null || s.isEmpty();
  }
}
