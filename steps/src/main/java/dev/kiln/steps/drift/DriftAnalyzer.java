package dev.kiln.steps.drift;

import dev.kiln.steps.table.ColumnKind;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.DoubleColumn;
import dev.kiln.steps.table.Table;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;

/** Compares a current data set with a reference, column by column. */
final class DriftAnalyzer {
  /** Evidently's rule: up to this many reference rows the tests are KS and chi-square. */
  static final int AUTO_SMALL_ROWS = 1000;

  /** Evidently's rule: a numeric column with at most this many distinct values is categorical. */
  static final int AUTO_MAX_CATEGORIES = 5;

  private static final int PLOT_BINS = 30;

  private DriftAnalyzer() {}

  /**
   * Opens both files (at once: each open starts a DuckDB instance and sniffs the CSV dialect) and
   * compares them.
   */
  public static DriftReport compare(Path reference, Path current, DriftOptions o)
      throws DataException {
    // Both files are read at once, each DuckDB with half the processors (fewer threads, each
    // parsing more, take less CPU in all: docs/benchmarks.md, Drift).
    int threads = Runtime.getRuntime().availableProcessors() / 2;
    CompletableFuture<Table> refOpen =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return Table.openForScan(reference, threads);
              } catch (DataException e) {
                throw new CompletionException(e);
              }
            });
    Table ref = null;
    try (Table cur = Table.openForScan(current, threads)) {
      ref = join(refOpen);
      return compare(ref, cur, o);
    } finally {
      if (ref != null) {
        ref.close();
      } else {
        // The current file failed to open: close the reference once it is open, if it opens.
        refOpen.thenAccept(Table::close);
      }
    }
  }

  /**
   * A report for every selected column. Problems with one column (missing on one side, all null,
   * types that differ) are reported on that column; problems with the whole input (an empty data
   * set, an unknown column asked for) are a {@link DataException}.
   */
  public static DriftReport compare(Table ref, Table cur, DriftOptions o) throws DataException {
    Set<String> names = new LinkedHashSet<>();
    if (o.columns().isEmpty()) {
      ref.columns().forEach(c -> names.add(c.name()));
      cur.columns().forEach(c -> names.add(c.name()));
    } else {
      for (String c : o.columns()) {
        if (ref.column(c).isEmpty() && cur.column(c).isEmpty()) {
          throw new DataException(
              "column '" + c + "' is in neither " + ref.file() + " nor " + cur.file());
        }
        names.add(c);
      }
    }
    List<String> order = List.copyOf(names);
    ColumnDrift[] out = new ColumnDrift[order.size()];
    List<String> numeric = new ArrayList<>();
    List<String> categorical = new ArrayList<>();
    for (int i = 0; i < out.length; i++) {
      String name = order.get(i);
      out[i] = problem(ref, cur, name);
      if (out[i] == null) {
        (ref.column(name).orElseThrow().kind().numeric() ? numeric : categorical).add(name);
      }
    }
    // Both files are read at once, each in one streamed pass; then the columns are compared in
    // parallel, each column's sort and test being independent of the others.
    Table.Columns[] scanned = scanBoth(ref, cur, numeric, categorical);
    Table.Columns r = scanned[0];
    Table.Columns c = scanned[1];
    if (r.rows() == 0) {
      throw new DataException(ref.file() + ": the reference data set has no rows");
    }
    if (c.rows() == 0) {
      throw new DataException(cur.file() + ": the current data set has no rows");
    }
    compareColumns(order, out, r, c, o);
    return new DriftReport(
        ref.file().toString(),
        cur.file().toString(),
        r.rows(),
        c.rows(),
        o.driftShare(),
        List.of(out));
  }

  /**
   * Fills in the columns not yet reported, on as many threads as there are processors (each
   * column's sort and test being independent of the others). Each thread copies a column's values
   * into arrays it keeps for the next column of the same length, and the column read is let go, so
   * the comparison allocates next to nothing and memory falls as it goes.
   */
  private static void compareColumns(
      List<String> order, ColumnDrift[] out, Table.Columns r, Table.Columns c, DriftOptions o) {
    int n = out.length;
    DoubleColumn[] refNums = new DoubleColumn[n];
    DoubleColumn[] curNums = new DoubleColumn[n];
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (out[i] == null) {
        refNums[i] = r.numeric().get(order.get(i));
        curNums[i] = c.numeric().get(order.get(i));
        todo.add(i);
      }
    }
    r.numeric().clear();
    c.numeric().clear();
    AtomicInteger next = new AtomicInteger();
    Runnable worker =
        () -> {
          double[] ref = new double[0];
          double[] cur = new double[0];
          for (int k = next.getAndIncrement(); k < todo.size(); k = next.getAndIncrement()) {
            int i = todo.get(k);
            String name = order.get(i);
            if (refNums[i] == null) {
              out[i] = categorical(name, r.rows(), r.texts().get(name), c.texts().get(name), o);
              continue;
            }
            ref = ref.length == refNums[i].size() ? ref : new double[refNums[i].size()];
            cur = cur.length == curNums[i].size() ? cur : new double[curNums[i].size()];
            refNums[i].copyTo(ref);
            curNums[i].copyTo(cur);
            refNums[i] = null;
            curNums[i] = null;
            out[i] = numeric(name, r.rows(), ref, cur, o);
          }
        };
    int threads = Math.min(Runtime.getRuntime().availableProcessors(), todo.size());
    List<CompletableFuture<Void>> others = new ArrayList<>();
    for (int t = 1; t < threads; t++) {
      others.add(CompletableFuture.runAsync(worker));
    }
    worker.run();
    for (CompletableFuture<Void> f : others) {
      try {
        f.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException x ? x : e;
      }
    }
  }

  private static Table.Columns[] scanBoth(
      Table ref, Table cur, List<String> numeric, List<String> categorical) throws DataException {
    CompletableFuture<Table.Columns> refScan =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return ref.scan(numeric, categorical);
              } catch (DataException e) {
                throw new CompletionException(e);
              }
            });
    Table.Columns c = cur.scan(numeric, categorical);
    return new Table.Columns[] {join(refScan), c};
  }

  /** The value of work done on another thread, its DataException thrown here. */
  private static <T> T join(CompletableFuture<T> f) throws DataException {
    try {
      return f.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof DataException d) {
        throw d;
      }
      throw e;
    }
  }

  /** Why a column cannot be compared (missing on one side, types differ), or null. */
  private static ColumnDrift problem(Table ref, Table cur, String name) {
    var rc = ref.column(name);
    var cc = cur.column(name);
    if (rc.isEmpty()) {
      return ColumnDrift.error(name, null, "missing from the reference " + ref.file());
    }
    if (cc.isEmpty()) {
      return ColumnDrift.error(name, null, "missing from the current " + cur.file());
    }
    ColumnKind rk = rc.get().kind();
    ColumnKind ck = cc.get().kind();
    if (rk == ColumnKind.TIMESTAMP || ck == ColumnKind.TIMESTAMP) {
      return ColumnDrift.error(name, "timestamp", "timestamp columns are not checked for drift");
    }
    if (rk.numeric() != ck.numeric()) {
      return ColumnDrift.error(
          name,
          null,
          "numeric in one data set, not in the other ("
              + rc.get().duckType()
              + " in the reference, "
              + cc.get().duckType()
              + " in the current)");
    }
    return null;
  }

  private static ColumnDrift categorical(
      String name, long refRows, List<String> r, List<String> c, DriftOptions o) {
    String type = "categorical";
    if (r.isEmpty() || c.isEmpty()) {
      return ColumnDrift.error(
          name,
          type,
          "all values are null in the " + (r.isEmpty() ? "reference" : "current") + " data set");
    }
    Method m = o.method();
    if (m == Method.AUTO) {
      m = refRows <= AUTO_SMALL_ROWS ? Method.CHISQUARE : Method.JENSENSHANNON;
    }
    if (m.numericOnly()) {
      return ColumnDrift.error(name, type, m.id() + " needs numbers; this column is categorical");
    }
    return categorical(name, type, count(r), count(c), m, o);
  }

  private static ColumnDrift numeric(
      String name, long refRows, double[] r, double[] c, DriftOptions o) {
    if (r.length == 0 || c.length == 0) {
      return ColumnDrift.error(
          name,
          "numeric",
          "all values are null in the " + (r.length == 0 ? "reference" : "current") + " data set");
    }
    Arrays.sort(r);
    Arrays.sort(c);
    Method m = o.method();
    if (m == Method.AUTO) {
      boolean many = distinctMoreThan(r, c, AUTO_MAX_CATEGORIES);
      boolean small = refRows <= AUTO_SMALL_ROWS;
      m =
          small
              ? (many ? Method.KS : Method.CHISQUARE)
              : (many ? Method.WASSERSTEIN : Method.JENSENSHANNON);
    }
    return numericColumn(name, r, c, m, o);
  }

  private static ColumnDrift numericColumn(
      String name, double[] r, double[] c, Method m, DriftOptions o) {
    switch (m) {
      case KS -> {
        return verdict(name, "numeric", m, Statistics.ks(r, c), o, histogram(r, c));
      }
      case WASSERSTEIN -> {
        return verdict(name, "numeric", m, Statistics.wasserstein(r, c), o, histogram(r, c));
      }
      case PSI, JENSENSHANNON -> {
        double[] edges = Statistics.quantileEdges(r, o.bins());
        long[] rb = Statistics.binCounts(r, edges);
        long[] cb = Statistics.binCounts(c, edges);
        Statistics.Result res =
            m == Method.PSI ? Statistics.psi(rb, cb) : Statistics.jensenShannon(rb, cb);
        return verdict(name, "numeric", m, res, o, histogram(r, c));
      }
      default -> {
        // chi-square on a numeric column: its distinct values are the categories.
        return categorical(name, "numeric", count(r), count(c), m, o);
      }
    }
  }

  private static ColumnDrift categorical(
      String name,
      String type,
      Map<String, Long> r,
      Map<String, Long> c,
      Method m,
      DriftOptions o) {
    TreeSet<String> cats = new TreeSet<>(r.keySet());
    cats.addAll(c.keySet());
    long[] rc = new long[cats.size()];
    long[] cc = new long[cats.size()];
    int i = 0;
    for (String k : cats) {
      rc[i] = r.getOrDefault(k, 0L);
      cc[i] = c.getOrDefault(k, 0L);
      i++;
    }
    Statistics.Result res =
        switch (m) {
          case PSI -> Statistics.psi(rc, cc);
          case JENSENSHANNON -> Statistics.jensenShannon(rc, cc);
          default -> Statistics.chiSquare(rc, cc);
        };
    var plot =
        new ColumnDrift.Plot(List.copyOf(cats), Statistics.shares(rc), Statistics.shares(cc));
    return verdict(name, type, m, res, o, plot);
  }

  private static ColumnDrift verdict(
      String name,
      String type,
      Method m,
      Statistics.Result res,
      DriftOptions o,
      ColumnDrift.Plot plot) {
    double threshold = o.threshold() != null ? o.threshold() : m.defaultThreshold();
    boolean drifted =
        switch (m) {
          case KS -> res.pValue() <= threshold;
          case CHISQUARE -> res.pValue() < threshold;
          default -> res.statistic() >= threshold;
        };
    return new ColumnDrift(
        name, type, m.id(), res.statistic(), res.pValue(), threshold, drifted, null, plot);
  }

  private static boolean distinctMoreThan(double[] sortedA, double[] sortedB, int limit) {
    TreeSet<Double> seen = new TreeSet<>();
    for (double[] arr : List.of(sortedA, sortedB)) {
      for (int i = 0; i < arr.length; i++) {
        if (i == 0 || arr[i] != arr[i - 1]) {
          seen.add(arr[i]);
          if (seen.size() > limit) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static Map<String, Long> count(List<String> values) {
    Map<String, Long> m = new TreeMap<>();
    values.forEach(v -> m.merge(v, 1L, Long::sum));
    return m;
  }

  private static Map<String, Long> count(double[] values) {
    Map<String, Long> m = new TreeMap<>();
    for (double v : values) {
      m.merge(BigDecimal.valueOf(v).stripTrailingZeros().toPlainString(), 1L, Long::sum);
    }
    return m;
  }

  /** Equal-width bins over both samples' range, for drawing only. */
  private static ColumnDrift.Plot histogram(double[] r, double[] c) {
    double lo = Math.min(r[0], c[0]);
    double hi = Math.max(r[r.length - 1], c[c.length - 1]);
    int bins = hi > lo ? PLOT_BINS : 1;
    double[] edges = new double[bins - 1];
    for (int k = 1; k < bins; k++) {
      edges[k - 1] = lo + (hi - lo) * k / bins;
    }
    List<String> labels = new ArrayList<>();
    for (int k = 0; k < bins; k++) {
      labels.add(String.format(Locale.ROOT, "%.4g", lo + (hi - lo) * k / bins));
    }
    return new ColumnDrift.Plot(
        labels,
        Statistics.shares(Statistics.binCounts(r, edges)),
        Statistics.shares(Statistics.binCounts(c, edges)));
  }
}
