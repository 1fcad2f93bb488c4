package dev.kiln.engine.artifact;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.testing.S3ProxyServer;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artifact throughput through S3Proxy on loopback vs a plain file copy; off unless KILN_BENCH_S3_MB
 * is set (docs/benchmarks.md has the command and the numbers):
 *
 * <pre>KILN_BENCH_S3_MB=1024 mvn -B -q -pl engine -am test -Dtest=S3ThroughputBench \
 *   -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
@EnabledIfEnvironmentVariable(named = "KILN_BENCH_S3_MB", matches = "[0-9]+")
final class S3ThroughputBench {
  @TempDir Path tmp;

  @Test
  void putAndFetchThroughS3VsCp() throws Exception {
    long mb = Long.parseLong(System.getenv("KILN_BENCH_S3_MB"));
    Path f = tmp.resolve("blob.bin");
    byte[] buf = new byte[1 << 20];
    Random r = new Random(1);
    try (OutputStream out = Files.newOutputStream(f)) {
      for (long i = 0; i < mb; i++) {
        r.nextBytes(buf);
        out.write(buf);
      }
    }
    long t0 = System.nanoTime();
    Files.copy(f, tmp.resolve("copy.bin"), StandardCopyOption.COPY_ATTRIBUTES);
    double cp = secs(t0);
    Files.delete(tmp.resolve("copy.bin"));

    try (S3ProxyServer s3 = S3ProxyServer.start(Files.createDirectories(tmp.resolve("s3")))) {
      s3.createBucket("bench");
      try (ArtifactStore a =
              S3ArtifactStore.open(
                  s3.settings("bench", "p"), new LocalArtifactStore(tmp.resolve("a")));
          ArtifactStore b =
              S3ArtifactStore.open(
                  s3.settings("bench", "p"), new LocalArtifactStore(tmp.resolve("b")))) {
        t0 = System.nanoTime();
        String sha = a.put(f).sha256();
        double put = secs(t0);
        t0 = System.nanoTime();
        Path got = b.local(sha);
        double get = secs(t0);
        assertThat(Files.size(got)).isEqualTo(mb << 20);
        System.out.printf(
            "S3 bench %d MiB: cp %.2fs (%.0f MiB/s); put %.2fs (%.0f MiB/s: hash + local copy +"
                + " upload); fetch on another host %.2fs (%.0f MiB/s: download + hash)%n",
            mb, cp, mb / cp, put, mb / put, get, mb / get);
      }
    }
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
