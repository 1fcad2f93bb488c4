package dev.kiln.engine.testing;

import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.config.S3Settings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 API on loopback for tests: S3Proxy over a folder, on a free port, with signed requests
 * (so wrong credentials are refused as a real store refuses them).
 */
public final class S3ProxyServer implements AutoCloseable {
  public static final String ACCESS_KEY = "kiln-test";
  public static final String SECRET_KEY = "kiln-test-secret";

  private final S3Proxy proxy;
  private final URI endpoint;
  private final Path dir;

  private S3ProxyServer(S3Proxy proxy, URI endpoint, Path dir) {
    this.proxy = proxy;
    this.endpoint = endpoint;
    this.dir = dir;
  }

  /** Starts S3Proxy keeping its buckets as folders under {@code dir}. */
  public static S3ProxyServer start(Path dir) throws Exception {
    S3Proxy proxy =
        S3Proxy.builder()
            .blobStore(new FilesystemNio2BlobStore(dir.toString()))
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .build();
    proxy.start();
    Await.until(
        "S3Proxy started", Duration.ofSeconds(20), () -> "STARTED".equals(proxy.getState()));
    return new S3ProxyServer(proxy, URI.create("http://127.0.0.1:" + proxy.getPort()), dir);
  }

  public URI endpoint() {
    return endpoint;
  }

  /** Where the object {@code key} of {@code bucket} lies on disk (to damage it in tests). */
  public Path file(String bucket, String key) {
    return dir.resolve(bucket).resolve(key);
  }

  public void createBucket(String bucket) {
    try (S3Client c = client()) {
      c.createBucket(b -> b.bucket(bucket));
    }
  }

  /** A plain SDK client with the right credentials, for what the store under test does not do. */
  public S3Client client() {
    return S3Client.builder()
        .region(Region.US_EAST_1)
        .endpointOverride(endpoint)
        .forcePathStyle(true)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  /** The environment a kiln process needs to keep its artifacts in {@code bucket/prefix} here. */
  public Map<String, String> env(String bucket, String prefix) {
    Map<String, String> env = new HashMap<>();
    env.put("KILN_ARTIFACTS", "s3://" + bucket + "/" + prefix);
    env.put("KILN_S3_ENDPOINT", endpoint.toString());
    env.put("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    env.put("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    env.put("AWS_REGION", "us-east-1");
    return env;
  }

  /** The settings of a store in {@code bucket/prefix} here, as KilnConfig reads them. */
  public S3Settings settings(String bucket, String prefix) {
    Map<String, String> env = env(bucket, prefix);
    env.put("KILN_HOME", dir.resolve("unused-home").toString());
    return KilnConfig.from(env).s3();
  }

  @Override
  public void close() throws Exception {
    proxy.stop();
  }
}
