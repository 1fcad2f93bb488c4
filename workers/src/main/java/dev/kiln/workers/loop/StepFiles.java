package dev.kiln.workers.loop;

import dev.kiln.engine.task.Completion;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads back the files a step writes its results to: KILN_OUTPUTS (key=value text) and KILN_METRICS
 * (key=number), within their size limits.
 */
final class StepFiles {
  static final int MAX_METRIC_LINES = 100_000;

  private StepFiles() {}

  static String readOutputs(Path file, Map<String, String> into, long maxBytes) throws IOException {
    long size = Files.size(file);
    if (size > maxBytes) {
      return "KILN_OUTPUTS is "
          + StepLimits.describe(size)
          + ", more than the limit of "
          + StepLimits.describe(maxBytes)
          + " (KILN_MAX_OUTPUTS_BYTES); write big results as artifacts";
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
              .toString();
    } catch (CharacterCodingException e) {
      return "KILN_OUTPUTS is not valid UTF-8 text; write binary results as artifacts";
    }
    int n = 0;
    for (String line : text.split("\r?\n", -1)) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      if (line.indexOf('\u0000') >= 0) {
        return "KILN_OUTPUTS line " + n + " contains a NUL byte, which outputs cannot hold";
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        return "KILN_OUTPUTS line " + n + " is not key=value: '" + abbreviate(line) + "'";
      }
      into.put(line.substring(0, eq).trim(), line.substring(eq + 1));
    }
    return null;
  }

  static String readMetrics(Path file, List<Completion.Metric> into, long maxBytes)
      throws IOException {
    long size = Files.size(file);
    if (size > maxBytes) {
      return "KILN_METRICS is "
          + StepLimits.describe(size)
          + ", more than the limit of "
          + StepLimits.describe(maxBytes)
          + " (KILN_MAX_METRICS_BYTES)";
    }
    int n = 0;
    // Malformed bytes become U+FFFD instead of failing the read; keys are checked below.
    try (Stream<String> lines =
        new BufferedReader(
                new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))
            .lines()) {
      for (String line : (Iterable<String>) lines::iterator) {
        n++;
        if (n > MAX_METRIC_LINES) {
          return "KILN_METRICS has more than " + MAX_METRIC_LINES + " lines";
        }
        if (line.isBlank()) {
          continue;
        }
        int eq = line.indexOf('=');
        String value = eq > 0 ? line.substring(eq + 1).trim() : "";
        double v;
        try {
          v = Double.parseDouble(value);
        } catch (NumberFormatException e) {
          return "KILN_METRICS line " + n + " is not key=number: '" + abbreviate(line) + "'";
        }
        if (!Double.isFinite(v)) {
          return "KILN_METRICS line " + n + " is not a finite number: '" + abbreviate(line) + "'";
        }
        String key = line.substring(0, eq).trim();
        if (key.indexOf('\u0000') >= 0 || key.indexOf('\uFFFD') >= 0) {
          return "KILN_METRICS line " + n + " has a key that is not valid UTF-8 text";
        }
        into.add(new Completion.Metric(key, v));
      }
    }
    return null;
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
