package dev.kiln.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The one measuring helper every benchmark uses: timing, medians, percentiles and ratios, so that
 * "median" and "p99" mean the same in every line of docs/benchmarks.md.
 */
final class Measure {
  private Measure() {}

  /** Something timed; may throw whatever the benchmark's work throws. */
  interface Action {
    void run() throws Exception;
  }

  static double millisSince(long nanoTime0) {
    return (System.nanoTime() - nanoTime0) / 1e6;
  }

  static double secondsSince(long nanoTime0) {
    return (System.nanoTime() - nanoTime0) / 1e9;
  }

  /** Wall time of {@code action}, in ms. */
  static double millis(Action action) throws Exception {
    long t0 = System.nanoTime();
    action.run();
    return millisSince(t0);
  }

  /** Wall times of {@code n} runs of {@code action} one after the other, in ms. */
  static List<Double> millis(int n, Action action) throws Exception {
    List<Double> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(millis(action));
    }
    return out;
  }

  static double median(List<Double> xs) {
    List<Double> s = xs.stream().sorted().toList();
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  static double median(double[] xs) {
    return median(Arrays.stream(xs).boxed().toList());
  }

  static double min(List<Double> xs) {
    return xs.stream().min(Double::compare).orElseThrow();
  }

  /**
   * The nearest-rank percentile: the smallest value with at least p % of the values at or below it
   * ({@code p} 100 is the maximum).
   */
  static double percentile(List<Double> xs, double p) {
    List<Double> s = xs.stream().sorted().toList();
    int idx = (int) Math.ceil(p / 100.0 * s.size()) - 1;
    return s.get(Math.max(0, Math.min(idx, s.size() - 1)));
  }

  /** {@code a / b} as printed in every ratio line: two decimals. */
  static String ratio(double a, double b) {
    return String.format(Locale.ROOT, "%.2f", a / b);
  }
}
