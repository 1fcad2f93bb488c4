package dev.kiln.engine.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Map;

/**
 * Where artifacts live when {@code KILN_ARTIFACTS=s3://BUCKET/PREFIX}: an S3-compatible store.
 *
 * @param endpoint {@code KILN_S3_ENDPOINT}, e.g. http://127.0.0.1:9000; null means AWS itself (then
 *     addressing is virtual-host style, else path style)
 * @param region {@code AWS_REGION} (or {@code AWS_DEFAULT_REGION}), default us-east-1
 * @param accessKey {@code AWS_ACCESS_KEY_ID}; null means the SDK's default chain (profile, role)
 */
public record S3Settings(
    String bucket,
    String prefix,
    URI endpoint,
    String region,
    String accessKey,
    String secretKey,
    String sessionToken) {

  /** Null when KILN_ARTIFACTS does not name an S3 store (then the local folder is used). */
  static S3Settings from(Map<String, String> env) {
    String url = env.get("KILN_ARTIFACTS");
    // Inside a step KILN_ARTIFACTS is the step's artifact folder (a path): a kiln command run by a
    // step then uses the local folder, as it always did.
    if (url == null || !url.startsWith("s3://")) {
      return null;
    }
    String rest = url.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : trimSlashes(rest.substring(slash + 1));
    if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
      throw new ConfigException(
          "KILN_ARTIFACTS: '"
              + bucket
              + "' is not an S3 bucket name (3-63 of a-z 0-9 . -); expected s3://BUCKET/PREFIX");
    }
    URI endpoint = null;
    String ep = blankToNull(env.get("KILN_S3_ENDPOINT"));
    if (ep != null) {
      try {
        endpoint = new URI(ep);
      } catch (URISyntaxException e) {
        throw new ConfigException("KILN_S3_ENDPOINT is not a URL: '" + ep + "'");
      }
      if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme())
          || endpoint.getHost() == null) {
        throw new ConfigException(
            "KILN_S3_ENDPOINT must be an http(s) URL such as http://127.0.0.1:9000, got '"
                + ep
                + "'");
      }
    }
    String region = blankToNull(env.get("AWS_REGION"));
    if (region == null) {
      region = blankToNull(env.get("AWS_DEFAULT_REGION"));
    }
    String key = blankToNull(env.get("AWS_ACCESS_KEY_ID"));
    String secret = blankToNull(env.get("AWS_SECRET_ACCESS_KEY"));
    if ((key == null) != (secret == null)) {
      throw new ConfigException(
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (one is missing)");
    }
    return new S3Settings(
        bucket,
        prefix,
        endpoint,
        region == null ? "us-east-1" : region,
        key,
        secret,
        blankToNull(env.get("AWS_SESSION_TOKEN")));
  }

  /** s3://BUCKET/PREFIX, for messages. */
  public String url() {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
  }

  // The secret never reaches a log line through a record's generated toString.
  @Override
  public String toString() {
    return url() + (endpoint == null ? "" : " at " + endpoint) + " (region " + region + ")";
  }

  private static String trimSlashes(String s) {
    int b = 0;
    int e = s.length();
    while (b < e && s.charAt(b) == '/') {
      b++;
    }
    while (e > b && s.charAt(e - 1) == '/') {
      e--;
    }
    return s.substring(b, e);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
