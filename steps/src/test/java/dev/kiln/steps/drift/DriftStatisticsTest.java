package dev.kiln.steps.drift;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/** Kiln's one-pass KS statistic equals commons-math's, which copies and re-sorts its inputs. */
class DriftStatisticsTest {
  @Test
  void ksStatisticIsCommonsMathsBitForBitWithTiesAndSignedZeros() {
    Random random = new Random(18);
    KolmogorovSmirnovTest commons = new KolmogorovSmirnovTest();
    for (int round = 0; round < 300; round++) {
      // Few distinct values give ties within and across samples; -0.0 and 0.0 are both drawn.
      int distinct = 1 + random.nextInt(round % 3 == 0 ? 5 : 5_000);
      double[] x = sample(random, 2 + random.nextInt(400), distinct, 0);
      double[] y = sample(random, 2 + random.nextInt(400), distinct, random.nextInt(3));
      double expected = commons.kolmogorovSmirnovStatistic(x, y);
      Arrays.sort(x);
      Arrays.sort(y);
      assertThat(Statistics.ksStatistic(x, y)).as("round %d", round).isEqualTo(expected);
      assertThat(Statistics.ksStatistic(y, x)).as("round %d swapped", round).isEqualTo(expected);
    }
  }

  @Test
  void ksStatisticOfDisjointSamplesIsOneAndOfEqualSamplesZero() {
    double[] low = {1, 2, 3};
    double[] high = {4, 5};
    assertThat(Statistics.ksStatistic(low, high)).isEqualTo(1.0);
    assertThat(Statistics.ksStatistic(high, low)).isEqualTo(1.0);
    assertThat(Statistics.ksStatistic(low, low.clone())).isEqualTo(0.0);
    assertThat(Statistics.ks(low, high).pValue()).isLessThan(0.2);
  }

  private static double[] sample(Random random, int size, int distinct, int shift) {
    double[] out = new double[size];
    for (int i = 0; i < size; i++) {
      int v = random.nextInt(distinct) + shift - distinct / 2;
      out[i] = v == 0 && random.nextBoolean() ? -0.0 : v / 7.0;
    }
    return out;
  }
}
