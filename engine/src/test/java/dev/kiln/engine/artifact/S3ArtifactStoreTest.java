package dev.kiln.engine.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.config.S3Settings;
import dev.kiln.engine.testing.S3ProxyServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 store against a real S3 API on loopback (S3Proxy over a folder): each "host" has its own
 * local folder, so everything another host reads went through the bucket.
 */
final class S3ArtifactStoreTest extends ArtifactStoreContract {
  private static final String BUCKET = "kiln-artifacts";
  private static Path proxyDir;
  private static S3ProxyServer s3;
  private static int prefixes;

  private String prefix;

  @BeforeAll
  static void startS3() throws Exception {
    proxyDir = Files.createTempDirectory("kiln-s3proxy");
    s3 = S3ProxyServer.start(proxyDir);
    s3.createBucket(BUCKET);
  }

  @AfterAll
  static void stopS3() throws Exception {
    s3.close();
    ArtifactStore.deleteTree(proxyDir);
  }

  @Override
  ArtifactStore open(Path localDir) {
    if (prefix == null) {
      // Each test its own prefix: what one stored must not make another's pass.
      prefix = "t" + ++prefixes + "/kiln";
    }
    return S3ArtifactStore.open(s3.settings(BUCKET, prefix), new LocalArtifactStore(localDir));
  }

  @Test
  void aCorruptedBlobIsDetectedOnDownload() throws Exception {
    ArtifactStore.Stored s = here().put(write("m.bin", "the real bytes"));
    S3ArtifactStore store = (S3ArtifactStore) here();
    try (S3Client c = s3.client()) {
      // The same length, different bytes: only the hash can tell.
      c.putObject(
          p -> p.bucket(BUCKET).key(store.key(s.sha256())),
          RequestBody.fromString("the fake bytes"));
    }
    assertThatThrownBy(() -> there().local(s.sha256()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is corrupt")
        .hasMessageContaining(s.sha256());
    assertThat(Files.exists(there().path(s.sha256())))
        .as("nothing is left under the hash on the host that downloaded")
        .isFalse();
  }

  @Test
  void wrongCredentialsFailWhenTheStoreIsOpened() {
    Map<String, String> env = s3.env(BUCKET, "x");
    env.put("AWS_SECRET_ACCESS_KEY", "wrong");
    env.put("KILN_HOME", tmp.toString());
    KilnConfig config = KilnConfig.from(env);
    assertThatThrownBy(() -> ArtifactStore.open(config))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("KILN_ARTIFACTS=s3://" + BUCKET + "/x")
        .hasMessageContaining("access denied");
  }

  @Test
  void aMissingBucketFailsWhenTheStoreIsOpened() {
    S3Settings settings = s3.settings("no-such-bucket", "x");
    assertThatThrownBy(() -> S3ArtifactStore.open(settings, new LocalArtifactStore(tmp)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("bucket 'no-such-bucket' does not exist");
  }

  @Test
  void anUnreachableStoreFailsWhenOpenedNamingTheEndpoint() throws Exception {
    int closedPort;
    try (var socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Map<String, String> env = s3.env(BUCKET, "x");
    env.put("KILN_S3_ENDPOINT", "http://127.0.0.1:" + closedPort);
    env.put("KILN_HOME", tmp.toString());
    KilnConfig config = KilnConfig.from(env);
    assertThatThrownBy(() -> ArtifactStore.open(config))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot reach the store at KILN_S3_ENDPOINT=http://127.0.0.1:");
  }

  @Test
  void aStoreThatGoesAwayMidRunFailsTheUploadCleanly() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("gone-s3"));
    S3ProxyServer other = S3ProxyServer.start(dir);
    other.createBucket(BUCKET);
    try (ArtifactStore store =
        S3ArtifactStore.open(
            other.settings(BUCKET, "p"), new LocalArtifactStore(tmp.resolve("gone-local")))) {
      other.close();
      Path f = write("late.bin", "made after the store went away");
      assertThatThrownBy(() -> store.put(f))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith("cannot store artifact late.bin in s3://" + BUCKET + "/p: ");
    }
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(() -> KilnConfig.from(Map.of("KILN_ARTIFACTS", "s3://Bad_Bucket/p")))
        .hasMessageContaining("KILN_ARTIFACTS: 'Bad_Bucket' is not an S3 bucket name");
    assertThatThrownBy(
            () ->
                KilnConfig.from(
                    Map.of("KILN_ARTIFACTS", "s3://b-1/p", "KILN_S3_ENDPOINT", "ftp://x")))
        .hasMessageContaining("KILN_S3_ENDPOINT must be an http(s) URL");
    assertThatThrownBy(
            () ->
                KilnConfig.from(
                    Map.of("KILN_ARTIFACTS", "s3://b-1/p", "AWS_ACCESS_KEY_ID", "only-the-key")))
        .hasMessageContaining("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    // A step's own KILN_ARTIFACTS (a folder) leaves a kiln command it runs on the local store.
    assertThat(KilnConfig.from(Map.of("KILN_ARTIFACTS", "/tmp/work/kiln/artifacts")).s3()).isNull();
    assertThat(s3.settings(BUCKET, "a/b/").toString()).doesNotContain(S3ProxyServer.SECRET_KEY);
  }
}
