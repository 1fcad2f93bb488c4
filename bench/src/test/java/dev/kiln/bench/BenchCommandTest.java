package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code kiln bench} family as a user runs it: a separate process, a real PostgreSQL. */
class BenchCommandTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void helpListsEveryBenchmarkOfTheFamily() throws Exception {
    var r = new KilnCli(home, dir).run("bench", "--help");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("Usage: kiln bench")
        .containsPattern("\\n\\s+steps\\s")
        .containsPattern("\\n\\s+scale\\s")
        .containsPattern("\\n\\s+webhook\\s")
        .containsPattern("\\n\\s+docker\\s")
        .containsPattern("\\n\\s+registry\\s")
        .containsPattern("\\n\\s+api\\s");
    var top = new KilnCli(home, dir).run("--help");
    assertThat(top.out()).contains("  bench ").doesNotContain("bench-");
  }

  @Test
  void benchWithoutWhatRunsTheStepsSuiteWithItsOptions() throws Exception {
    var r = new KilnCli(home, dir).run("bench", "--steps", "2", "--repeat", "1");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("sh -c true as a child process:")
        .containsPattern("this machine's ceiling: [1-9]\\d* process starts a second")
        .containsPattern(
            "make -j2's fan-out starts [1-9]\\d* steps a second, \\d+ % of the ceiling")
        .containsPattern("make +chain +\\d+ +[0-9.]+ +1\\.00")
        .containsPattern("kiln run \\(cold JVM\\) +chain")
        .containsPattern("kiln server \\(warm\\) +fan-out +\\d+ +[0-9.]+ +[0-9.]+")
        .contains("validate + plan a 10,000-step chain:");
  }

  @Test
  void badOptionsAreOneLineWithExitTwo() throws Exception {
    var r = new KilnCli(home, dir).run("bench", "steps", "--steps", "1");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().strip())
        .isEqualTo("kiln: --steps must be at least 2, --repeat and --slots at least 1");
  }

  @Test
  void webhookBenchServesOnPortZeroAndReportsPercentiles() throws Exception {
    var r =
        new KilnCli(home, dir)
            .run("bench", "webhook", "--deliveries", "3", "--warmup", "1", "--slots", "1");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).containsPattern("kiln server listening on http://127\\.0\\.0\\.1:\\d+ ");
    assertThat(r.err()).doesNotContain("listening on http://127.0.0.1:0 ");
    assertThat(r.out())
        .containsPattern(
            "webhook -> first step running, 3 deliveries: median \\d+\\.\\d ms, p90 \\d+\\.\\d ms,"
                + " p99 \\d+\\.\\d ms, max \\d+\\.\\d ms")
        .containsPattern("HTTP round trip \\(202 received\\): median \\d+\\.\\d ms");
  }
}
