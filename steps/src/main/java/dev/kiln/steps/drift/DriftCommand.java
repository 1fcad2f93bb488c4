package dev.kiln.steps.drift;

import dev.kiln.engine.store.Json;
import dev.kiln.steps.table.DataException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln drift REFERENCE CURRENT}: a drift report for two CSV or Parquet files. */
@Command(
    name = "drift",
    mixinStandardHelpOptions = true,
    description = {
      "Compare CURRENT with REFERENCE column by column and report drift.",
      "Files are CSV (with a header) or Parquet (.parquet). Methods: ks, wasserstein, psi,",
      "jensenshannon, chisquare, or auto: per column KS (numeric, >5 distinct values) or",
      "chi-square up to 1,000 reference rows, Wasserstein or Jensen-Shannon beyond.",
      "Exit codes: 0 report written (also when drifted, unless --fail-on-drift), 1 drifted",
      "with --fail-on-drift, 2 bad input."
    })
final class DriftCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REFERENCE", description = "the reference data set")
  Path reference;

  @Parameters(index = "1", paramLabel = "CURRENT", description = "the current data set")
  Path current;

  @Option(names = "--json", description = "print the report as JSON")
  boolean json;

  @Option(
      names = "--html",
      paramLabel = "FILE",
      description = "also write a self-contained HTML report")
  Path html;

  @Option(
      names = "--method",
      paramLabel = "M",
      defaultValue = "auto",
      description = "ks, wasserstein, psi, jensenshannon, chisquare or auto (default)")
  String method;

  @Option(
      names = "--columns",
      paramLabel = "a,b",
      split = ",",
      description = "only these columns (default: every column)")
  List<String> columns;

  @Option(
      names = "--bins",
      paramLabel = "N",
      defaultValue = "10",
      description = "quantile bins for psi and jensenshannon (default ${DEFAULT-VALUE})")
  int bins;

  @Option(
      names = "--threshold",
      paramLabel = "X",
      description =
          "drift threshold for every column (default per method: ks and chisquare"
              + " p 0.05, the others 0.1)")
  Double threshold;

  @Option(
      names = "--drift-share",
      paramLabel = "S",
      defaultValue = "0.5",
      description =
          "the data set drifts when this share of columns drifted (default ${DEFAULT-VALUE})")
  double driftShare;

  @Option(names = "--fail-on-drift", description = "exit 1 when the data set drifted")
  boolean failOnDrift;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    DriftOptions options;
    try {
      options =
          new DriftOptions(
              Method.parse(method),
              columns == null ? List.of() : columns,
              bins,
              threshold,
              driftShare);
    } catch (IllegalArgumentException e) {
      err.println("kiln: " + e.getMessage());
      return 2;
    }
    DriftReport report;
    try {
      report = DriftAnalyzer.compare(reference, current, options);
    } catch (DataException e) {
      err.println("kiln: " + e.getMessage());
      return 2;
    }
    if (html != null) {
      try {
        Files.writeString(html, DriftHtml.render(report), StandardCharsets.UTF_8);
      } catch (IOException e) {
        err.println("kiln: cannot write " + html + ": " + e.getMessage());
        return 2;
      }
    }
    if (json) {
      out.println(Json.write(report.toMap()));
    } else {
      print(out, report);
    }
    out.flush();
    return failOnDrift && report.drifted() ? 1 : 0;
  }

  static void print(PrintWriter out, DriftReport r) {
    out.printf(
        Locale.ROOT,
        "%-28s %-12s %-14s %12s %12s %10s  %s%n",
        "COLUMN",
        "TYPE",
        "METHOD",
        "STATISTIC",
        "P-VALUE",
        "THRESHOLD",
        "DRIFT");
    for (ColumnDrift c : r.columns()) {
      out.printf(
          Locale.ROOT,
          "%-28s %-12s %-14s %12s %12s %10s  %s%n",
          c.column(),
          c.type() == null ? "-" : c.type(),
          c.method() == null ? "-" : c.method(),
          fmt(c.statistic()),
          fmt(c.pValue()),
          fmt(c.threshold()),
          c.error() != null ? "error: " + c.error() : c.drifted() ? "DRIFT" : "no");
    }
    out.printf(
        Locale.ROOT,
        "%s: %d of %d columns drifted (share %.3f, threshold %.3f)%n",
        r.drifted() ? "DRIFT" : "no drift",
        r.driftedColumns(),
        r.checkedColumns(),
        r.shareDrifted(),
        r.driftShare());
  }

  private static String fmt(Double d) {
    return d == null ? "-" : String.format(Locale.ROOT, "%.5g", d);
  }
}
