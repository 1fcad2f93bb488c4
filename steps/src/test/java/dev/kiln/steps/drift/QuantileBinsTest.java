package dev.kiln.steps.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.kiln.steps.table.Table;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PSI's quantile bins equal numpy's {@code np.quantile(ref, np.linspace(0, 1, bins + 1))} bit for
 * bit. The expected numbers were computed with numpy 2.4 and are written here, so the test needs no
 * Python.
 */
class QuantileBinsTest {
  static final Path BREAST =
      Path.of("..", "pipelines", "monitor", "data", "breast_cancer.csv")
          .toAbsolutePath()
          .normalize();

  @Test
  void edgesAreNumpysQuantilesBitForBit() {
    double[] ref = {0.06, 0.29, 0.38, 0.43, 0.66, 0.77, 0.82, 1.0};
    // np.quantile(ref, np.linspace(0, 1, 6))[1:-1]; R-7 computed the textbook way gives
    // 0.42000000000000004 for the second edge.
    assertThat(Statistics.quantileEdges(ref, 5))
        .containsExactly(0.326, 0.42, 0.6820000000000002, 0.8);
  }

  @Test
  void aValueOnANumpyEdgeFallsInTheBinOnItsRightAsInNumpy() {
    double[] ref = {0.06, 0.29, 0.38, 0.43, 0.66, 0.77, 0.82, 1.0};
    double[] edges = Statistics.quantileEdges(ref, 5);
    // np.digitize([0.42], edges) == [2]: the value equals the second edge exactly.
    assertThat(Statistics.binCounts(new double[] {0.42}, edges)).containsExactly(0, 0, 1, 0, 0);
  }

  @Test
  void breastCancerSplitOnMeanRadiusGetsNumpysPsi(@TempDir Path dir) throws Exception {
    Path lower = dir.resolve("lower.csv");
    Path upper = dir.resolve("upper.csv");
    String src = "read_csv('" + BREAST + "')";
    try (var c = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = c.createStatement()) {
      String median = "(select median(mean_radius) from " + src + ")";
      st.execute(
          "copy (select * from "
              + src
              + " where mean_radius <= "
              + median
              + ") to '"
              + lower
              + "'");
      st.execute(
          "copy (select * from " + src + " where mean_radius > " + median + ") to '" + upper + "'");
    }
    DriftReport report =
        DriftAnalyzer.compare(
            lower, upper, new DriftOptions(Method.PSI, List.of("mean_symmetry"), 10, null, 0.5));
    // numpy: edges np.quantile(lower, np.linspace(0, 1, 11)) put upper's 0.2085 (an edge) in the
    // last bin; PSI 0.13370452180735737 (the R-7 edges of commons-math gave 0.12746490789234668).
    assertThat(report.columns().get(0).statistic()).isCloseTo(0.13370452180735737, within(1e-12));
    assertThat(Statistics.quantileEdges(sorted(lower), 10))
        .containsExactly(
            0.1476, 0.15652, 0.16202, 0.16818, 0.1743, 0.18284, 0.19046, 0.1967, 0.2085);
  }

  private static double[] sorted(Path file) throws Exception {
    try (var t = Table.open(file)) {
      double[] v = t.scan(List.of("mean_symmetry"), List.of()).numbers().get("mean_symmetry");
      Arrays.sort(v);
      return v;
    }
  }
}
