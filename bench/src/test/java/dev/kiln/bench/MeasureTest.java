package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MeasureTest {
  @Test
  void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertThat(Measure.median(List.of(4.0, 1.0, 3.0, 2.0))).isEqualTo(2.5);
    assertThat(Measure.median(new double[] {5, 1, 3})).isEqualTo(3.0);
  }

  @Test
  void percentileIsTheNearestRankAndHundredIsTheMaximum() {
    List<Double> xs = List.of(10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0);
    assertThat(Measure.percentile(xs, 50)).isEqualTo(5.0);
    assertThat(Measure.percentile(xs, 90)).isEqualTo(9.0);
    assertThat(Measure.percentile(xs, 99)).isEqualTo(10.0);
    assertThat(Measure.percentile(xs, 100)).isEqualTo(10.0);
    assertThat(Measure.percentile(xs, 0)).isEqualTo(1.0);
  }

  @Test
  void ratioHasTwoDecimalsAndTimingCountsEveryRun() throws Exception {
    assertThat(Measure.ratio(2, 3)).isEqualTo("0.67");
    int[] runs = {0};
    List<Double> ms = Measure.millis(3, () -> runs[0]++);
    assertThat(runs[0]).isEqualTo(3);
    assertThat(ms).hasSize(3).allMatch(x -> x >= 0);
    assertThat(Measure.min(List.of(3.0, 1.5, 2.0))).isEqualTo(1.5);
  }
}
