package dev.kiln.workers;

import static dev.kiln.workers.Pipelines.awaitEnd;
import static dev.kiln.workers.Pipelines.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.S3ProxyServer;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-step overhead of a chain whose steps pass a small artifact, local store vs S3 store (S3Proxy
 * on loopback); off unless KILN_BENCH_CHAIN_STEPS is set (docs/benchmarks.md):
 *
 * <pre>KILN_BENCH_CHAIN_STEPS=30 mvn -B -q -pl workers -am test -Dtest=ChainOverheadBench \
 *   -Dsurefire.failIfNoSpecifiedTests=false</pre>
 */
@EnabledIfEnvironmentVariable(named = "KILN_BENCH_CHAIN_STEPS", matches = "[0-9]+")
final class ChainOverheadBench {
  @TempDir Path tmp;

  @Test
  void chainOfStepsPassingASmallArtifactLocalVsS3() throws Exception {
    int n = Integer.parseInt(System.getenv("KILN_BENCH_CHAIN_STEPS"));
    StringBuilder yaml = new StringBuilder("name: chain\nsteps:\n");
    for (int i = 0; i < n; i++) {
      yaml.append("  s").append(i).append(":\n");
      if (i > 0) {
        yaml.append("    needs: [s").append(i - 1).append("]\n");
      }
      yaml.append("    run: |\n");
      if (i > 0) {
        yaml.append("      cat \"$KILN_INPUTS/s").append(i - 1).append("/a.txt\" > /dev/null\n");
      }
      yaml.append("      echo step-").append(i).append(" > \"$KILN_ARTIFACTS/a.txt\"\n");
    }
    double local = perStep(Map.of("KILN_HOME", tmp.resolve("local").toString()), yaml, n);
    try (S3ProxyServer s3 = S3ProxyServer.start(Files.createDirectories(tmp.resolve("s3")))) {
      s3.createBucket("bench");
      Map<String, String> env = new HashMap<>(s3.env("bench", "chain"));
      env.put("KILN_HOME", tmp.resolve("s3home").toString());
      double remote = perStep(env, yaml, n);
      System.out.printf(
          "chain of %d steps passing a small artifact: local store %.1f ms/step, S3 store %.1f"
              + " ms/step%n",
          n, local, remote);
    }
  }

  private static double perStep(Map<String, String> env, CharSequence yaml, int n)
      throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    try (Engine e =
        new Engine(KilnConfig.from(env), Database.connect(db.url(), db.user(), db.password(), 5))) {
      WorkerRuntime.Handle w =
          WorkerRuntime.load()
              .start(
                  e,
                  new WorkerRuntime.Options(
                      "bench", List.of("default"), 2, Duration.ofSeconds(10), null));
      try {
        long t0 = System.nanoTime();
        long run = start(e, yaml.toString(), Map.of());
        var r = awaitEnd(e, run, Duration.ofMinutes(10));
        double ms = (System.nanoTime() - t0) / 1e6 / n;
        assertThat(r.status()).isEqualTo(RunStatus.SUCCEEDED);
        return ms;
      } finally {
        w.close();
      }
    }
  }
}
