package dev.kiln.steps.drift;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/**
 * The drift columns' radix sort orders exactly as {@code Arrays.sort}, and the KS statistic on the
 * sorted columns equals commons-math's, which sorts copies itself: the report cannot change.
 */
class SortingTest {
  @Test
  void radixSortGivesArraysSortsOrderBitForBit() {
    Random rnd = new Random(18);
    double[] values = new double[200_000];
    for (int i = 0; i < values.length; i++) {
      // Six decimals, as in a CSV: many ties; both signs; a few special values.
      values[i] = Math.round(rnd.nextGaussian() * 1e6 * (i % 7 + 1)) / 1e6;
    }
    double[] special = {
      0.0,
      -0.0,
      Double.NaN,
      Double.NEGATIVE_INFINITY,
      Double.POSITIVE_INFINITY,
      Double.MIN_VALUE,
      -Double.MIN_VALUE,
      Double.MAX_VALUE,
      -Double.MAX_VALUE,
      1.0,
      -1.0
    };
    System.arraycopy(special, 0, values, 1000, special.length);
    double[] expected = values.clone();
    Arrays.sort(expected);
    double[] actual = values.clone();
    Sorting.sort(actual, new double[values.length + 5]);
    for (int i = 0; i < values.length; i++) {
      assertThat(Double.doubleToRawLongBits(actual[i]))
          .as("index %d", i)
          .isEqualTo(Double.doubleToRawLongBits(expected[i]));
    }
  }

  @Test
  void emptyAndConstantColumnsSort() {
    double[] empty = {};
    Sorting.sort(empty, new double[0]);
    double[] same = {2.5, 2.5, 2.5};
    Sorting.sort(same, new double[3]);
    assertThat(same).containsExactly(2.5, 2.5, 2.5);
  }

  @Test
  void ksStatisticOnSortedColumnsIsCommonsMathsToTheBit() {
    Random rnd = new Random(6);
    for (int round = 0; round < 20; round++) {
      double[] ref = new double[1 + rnd.nextInt(5000)];
      double[] cur = new double[1 + rnd.nextInt(5000)];
      for (int i = 0; i < ref.length; i++) {
        ref[i] = Math.round(rnd.nextGaussian() * 100) / 10.0; // ties within and across samples
      }
      for (int i = 0; i < cur.length; i++) {
        cur[i] = Math.round((rnd.nextGaussian() + round / 20.0) * 100) / 10.0;
      }
      if (ref.length < 2 || cur.length < 2) {
        continue;
      }
      double expected = new KolmogorovSmirnovTest().kolmogorovSmirnovStatistic(ref, cur);
      Sorting.sort(ref, new double[ref.length]);
      Sorting.sort(cur, new double[cur.length]);
      assertThat(Statistics.ksStatistic(ref, cur)).isEqualTo(expected);
    }
  }
}
