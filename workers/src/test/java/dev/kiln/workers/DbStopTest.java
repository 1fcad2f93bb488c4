package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kiln db stop refuses to stop the embedded store under a running worker, unless --force. */
class DbStopTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void refusesWhileAWorkerUsesTheEmbeddedStoreAndForceStopsIt() throws Exception {
    Kiln kiln = new Kiln(Map.of("KILN_HOME", home.toString()), dir);
    Process worker = kiln.start("worker", "--slots", "1");
    try {
      Path mark = home.resolve("in-use").resolve(String.valueOf(worker.pid()));
      Await.until("the worker registers", Duration.ofSeconds(90), () -> Files.exists(mark));

      Kiln.Result refused = kiln.run("db", "stop");
      assertThat(refused.exit()).isEqualTo(2);
      assertThat(refused.err().strip())
          .isEqualTo(
              "kiln: the embedded PostgreSQL in "
                  + home
                  + " is in use by [kiln worker (pid "
                  + worker.pid()
                  + ")]: stop them first, or pass --force");
      assertThat(kiln.run("db", "url").exit()).as("still running").isZero();

      Kiln.Result forced = kiln.run("db", "stop", "--force");
      assertThat(forced.exit()).isZero();
      assertThat(forced.out()).contains("stopped the embedded PostgreSQL in " + home);
    } finally {
      worker.destroyForcibly();
      worker.waitFor();
    }
    // A user that is gone (killed without cleaning up) no longer blocks the stop.
    Kiln.Result again = kiln.run("db", "stop");
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("no embedded PostgreSQL runs in " + home);
  }
}
