package dev.kiln.steps.model;

import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.With;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.tribuo.Model;

/**
 * What one algorithm of {@code train/tribuo} is given ({@link Settings}) and gives back ({@link
 * Trained}), shared by the classifiers, regressors and k-means.
 */
final class TribuoRun {
  private TribuoRun() {}

  /**
   * The step's inputs for a trainer: its hyper-parameters are read through {@code in}; {@code
   * recording} is the instance provenance every trainer is given (the signature).
   */
  record Settings(
      TribuoAlgorithm algorithm,
      With in,
      long seed,
      double testFraction,
      String positive,
      Map<String, Provenance> recording,
      Path out) {

    /** A whole number of at least {@code min}. */
    int atLeast(String key, int fallback, int min) throws With.BadInput {
      int v = in.integer(key, fallback);
      if (v < min) {
        throw in.bad(key, "must be at least " + min + ", got " + v);
      }
      return v;
    }

    /** A number in (0, 1], or (0, 1) when {@code belowOne}. */
    double share(String key, double fallback, boolean belowOne) throws With.BadInput {
      double v = in.number(key, fallback);
      if (v <= 0 || v > 1 || (belowOne && v == 1)) {
        throw in.bad(
            key,
            "must be above 0 and "
                + (belowOne ? "below 1" : "at most 1")
                + " for algorithm '"
                + algorithm.key
                + "', got "
                + v);
      }
      return v;
    }

    /** A number of at least 0. */
    double nonNegative(String key, double fallback) throws With.BadInput {
      double v = in.number(key, fallback);
      if (v < 0) {
        throw in.bad(key, "must not be negative, got " + v);
      }
      return v;
    }

    /** A number above 0. */
    double positiveNumber(String key, double fallback) throws With.BadInput {
      double v = in.number(key, fallback);
      if (v <= 0) {
        throw in.bad(key, "must be above 0, got " + v);
      }
      return v;
    }
  }

  /**
   * A trained model with its metrics, the rows it was trained and tested on, the table of its
   * predictions written in the output folder, and a one-line summary for the step's log.
   */
  record Trained(
      Model<?> model,
      List<Completion.Metric> metrics,
      int trainRows,
      int testRows,
      Path table,
      String summary) {}

  /** A metric name part made of a class name: lower case letters, digits and underscores. */
  static String metricName(String s) {
    String n = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
    return n.replaceAll("^_+|_+$", "");
  }

  /** Writes a CSV: a header and rows, quoting what needs it. */
  static void writeCsv(Path file, List<String> header, List<List<String>> rows) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write(String.join(",", header) + "\n");
      for (List<String> row : rows) {
        w.write(String.join(",", row.stream().map(TribuoRun::csv).toList()) + "\n");
      }
    }
  }

  private static String csv(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }
}
