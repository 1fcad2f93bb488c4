package dev.kiln.steps.drift;

import java.util.Arrays;
import org.apache.commons.math3.stat.descriptive.moment.StandardDeviation;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.apache.commons.math3.util.CombinatoricsUtils;

/**
 * The drift statistics, defined as scipy 1.10 defines them (see docs/monitoring.md). Numeric inputs
 * are sorted arrays without NaN; distributions are counts per bin.
 */
final class Statistics {
  /** scipy's ks_2samp 'auto' uses the exact distribution up to this many values per sample. */
  static final int KS_EXACT_MAX_N = 10_000;

  /** Share given to an empty bin by PSI, so that its logarithm is defined. */
  static final double PSI_EMPTY_SHARE = 0.0001;

  /** Wasserstein is divided by the reference's standard deviation, but never by less. */
  static final double MIN_STD = 0.001;

  private Statistics() {}

  record Result(double statistic, Double pValue) {}

  /**
   * Two-sample two-sided Kolmogorov-Smirnov. The statistic is {@link #ksStatistic}; the p-value is
   * commons-math's and follows ks_2samp(method='auto'): exact when both samples have at most 10,000
   * values, else the one-sample Kolmogorov distribution at n = round(n1*n2/(n1+n2)). commons-math's
   * exact count overflows a double beyond about 1,000 values in total, so there the asymptotic form
   * is used, as scipy does when its own exact computation fails.
   */
  static Result ks(double[] sortedRef, double[] sortedCur) {
    KolmogorovSmirnovTest t = new KolmogorovSmirnovTest();
    double d = ksStatistic(sortedRef, sortedCur);
    int n = sortedRef.length;
    int m = sortedCur.length;
    double p;
    if (Math.max(n, m) <= KS_EXACT_MAX_N && exactFits(n, m)) {
      p = t.exactP(d, n, m, false);
    } else {
      double en = (double) n * m / (n + m);
      p = 1.0 - t.cdf(d, (int) Math.round(en));
    }
    return new Result(d, clamp01(p));
  }

  /**
   * The largest distance between the two empirical CDFs, walked once over the already sorted
   * samples, ties stepping both CDFs together. It is commons-math's {@code
   * KolmogorovSmirnovTest.kolmogorovSmirnovStatistic} bit for bit (the same integer walk, the same
   * division; DriftStatisticsTest compares them), without its defensive copy and re-sort of both
   * samples, which cost 70-110 ms a column of a million values before the JIT has warmed up: a
   * second or more of CPU over 20 columns.
   */
  static double ksStatistic(double[] sortedX, double[] sortedY) {
    int n = sortedX.length;
    int m = sortedY.length;
    int i = 0;
    int j = 0;
    long distance = 0; // n * m * (F(z) - G(z)), exact in a long
    long sup = 0;
    do {
      double z = Double.compare(sortedX[i], sortedY[j]) <= 0 ? sortedX[i] : sortedY[j];
      while (i < n && Double.compare(sortedX[i], z) == 0) {
        i++;
        distance += m;
      }
      while (j < m && Double.compare(sortedY[j], z) == 0) {
        j++;
        distance -= n;
      }
      sup = Math.max(sup, Math.abs(distance));
    } while (i < n && j < m);
    return sup / (double) ((long) n * m);
  }

  private static boolean exactFits(int n, int m) {
    // exactP divides a path count by C(n+m, n): both must stay well inside a double.
    return CombinatoricsUtils.binomialCoefficientLog(n + m, Math.min(n, m)) < 690;
  }

  /** scipy.stats.wasserstein_distance(ref, cur) / max(population std of ref, 0.001). */
  static Result wasserstein(double[] sortedRef, double[] sortedCur) {
    double w = wasserstein1(sortedRef, sortedCur);
    double std = new StandardDeviation(false).evaluate(sortedRef);
    return new Result(w / Math.max(std, MIN_STD), null);
  }

  /** The area between the two empirical CDFs: sum over consecutive values of |F - G| * gap. */
  static double wasserstein1(double[] u, double[] v) {
    int i = 0;
    int j = 0;
    double sum = 0;
    double prev = Math.min(u[0], v[0]);
    while (i < u.length || j < v.length) {
      double x = j >= v.length || (i < u.length && u[i] <= v[j]) ? u[i] : v[j];
      sum += Math.abs((double) i / u.length - (double) j / v.length) * (x - prev);
      while (i < u.length && u[i] == x) {
        i++;
      }
      while (j < v.length && v[j] == x) {
        j++;
      }
      prev = x;
    }
    return sum;
  }

  /**
   * Inner bin edges at the reference's quantiles, without duplicates; the outer bins are open to
   * -inf and +inf. The edges equal numpy's {@code np.quantile(ref, np.linspace(0, 1, bins + 1))}
   * bit for bit, so a value on an edge falls in the same bin as in numpy and Evidently.
   */
  static double[] quantileEdges(double[] sortedRef, int bins) {
    double[] edges = new double[Math.max(0, bins - 1)];
    double step = 1.0 / bins; // np.linspace(0, 1, bins + 1) is i * step
    for (int k = 1; k < bins; k++) {
      edges[k - 1] = quantile(sortedRef, k * step);
    }
    return Arrays.stream(edges).distinct().sorted().toArray();
  }

  /**
   * numpy's {@code np.quantile(sorted, q)} with its default method 'linear' (Hyndman and Fan's
   * R-7), computed as numpy computes it: virtual index h = (n - 1) * q, and between the two values
   * around it numpy's lerp, which interpolates from the nearer end ({@code b - (b - a) * (1 - t)}
   * when t >= 0.5), so the rounding is numpy's too.
   */
  static double quantile(double[] sorted, double q) {
    int n = sorted.length;
    double h = (n - 1) * q;
    if (h >= n - 1) {
      return sorted[n - 1];
    }
    int lo = (int) Math.floor(h);
    double t = h - lo;
    double a = sorted[lo];
    double b = sorted[lo + 1];
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }

  /** Counts per bin; a value equal to an edge belongs to the bin on its right. */
  static long[] binCounts(double[] sorted, double[] edges) {
    long[] counts = new long[edges.length + 1];
    int bin = 0;
    for (double x : sorted) {
      while (bin < edges.length && x >= edges[bin]) {
        bin++;
      }
      counts[bin]++;
    }
    return counts;
  }

  static double[] shares(long[] counts) {
    long total = Arrays.stream(counts).sum();
    double[] out = new double[counts.length];
    for (int i = 0; i < counts.length; i++) {
      out[i] = total == 0 ? 0 : (double) counts[i] / total;
    }
    return out;
  }

  /** PSI = sum((cur - ref) * ln(cur / ref)), an empty bin's share taken as 0.0001. */
  static Result psi(long[] ref, long[] cur) {
    double[] r = shares(ref);
    double[] c = shares(cur);
    double sum = 0;
    for (int i = 0; i < r.length; i++) {
      double ri = r[i] == 0 ? PSI_EMPTY_SHARE : r[i];
      double ci = c[i] == 0 ? PSI_EMPTY_SHARE : c[i];
      sum += (ci - ri) * Math.log(ci / ri);
    }
    return new Result(sum, null);
  }

  /** scipy.spatial.distance.jensenshannon(ref, cur), natural logarithm. */
  static Result jensenShannon(long[] ref, long[] cur) {
    double[] p = shares(ref);
    double[] q = shares(cur);
    double js = 0;
    for (int i = 0; i < p.length; i++) {
      double m = (p[i] + q[i]) / 2;
      js += relEntr(p[i], m) + relEntr(q[i], m);
    }
    return new Result(Math.sqrt(Math.max(0, js / 2)), null);
  }

  private static double relEntr(double x, double y) {
    return x == 0 ? 0 : x * Math.log(x / y);
  }

  /**
   * scipy.stats.chisquare(cur counts, ref shares * current rows). A category the reference never
   * saw has an expected count of 0: the statistic is infinite and p is 0, as in scipy.
   */
  static Result chiSquare(long[] ref, long[] cur) {
    double[] share = shares(ref);
    long n = Arrays.stream(cur).sum();
    double[] expected = new double[share.length];
    for (int i = 0; i < share.length; i++) {
      expected[i] = share[i] * n;
      if (expected[i] == 0 && cur[i] > 0) {
        return new Result(Double.POSITIVE_INFINITY, 0.0);
      }
    }
    if (share.length < 2) {
      // One category in both: nothing can differ (scipy gives 0 and an undefined p with 0 dof).
      return new Result(0, 1.0);
    }
    ChiSquareTest t = new ChiSquareTest();
    return new Result(t.chiSquare(expected, cur), clamp01(t.chiSquareTest(expected, cur)));
  }

  private static double clamp01(double p) {
    return Math.max(0, Math.min(1, p));
  }
}
