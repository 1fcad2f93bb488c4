package dev.kiln.engine.trigger;

import dev.kiln.dsl.model.Trigger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Checks a webhook delivery: HMAC-SHA256 of the raw body in {@code X-Hub-Signature-256:
 * sha256=<hex>} (the GitHub convention) or {@code Authorization: Bearer <token>}. Secrets come from
 * the environment variables the trigger names, never from the YAML. Comparisons are constant-time.
 */
public final class WebhookAuth {
  /** Why a delivery was refused; null when accepted. */
  public record Verdict(int status, String reason) {
    static final Verdict OK = new Verdict(0, null);

    public boolean ok() {
      return reason == null;
    }
  }

  private WebhookAuth() {}

  public static Verdict check(
      Trigger.Webhook hook,
      byte[] body,
      String signatureHeader,
      String authorizationHeader,
      Map<String, String> env) {
    if (hook.secretEnv() == null && hook.tokenEnv() == null) {
      return Verdict.OK; // an open hook: the pipeline asked for no authentication
    }
    String secret = hook.secretEnv() == null ? null : env.get(hook.secretEnv());
    String token = hook.tokenEnv() == null ? null : env.get(hook.tokenEnv());
    if (blank(secret) && blank(token)) {
      return new Verdict(
          500,
          "webhook '"
              + hook.path()
              + "' is not configured on this server: "
              + "environment variable "
              + (hook.secretEnv() != null ? hook.secretEnv() : hook.tokenEnv())
              + " is not set");
    }
    if (!blank(secret)
        && signatureHeader != null
        && signatureMatches(secret, body, signatureHeader.trim())) {
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

  public static String sign(String secret, byte[] body) {
    return "sha256=" + HexFormat.of().formatHex(hmac(secret, body));
  }

  private static boolean signatureMatches(String secret, byte[] body, String header) {
    if (!header.startsWith("sha256=")) {
      return false;
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(header.substring(7).toLowerCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(hmac(secret, body), given);
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
