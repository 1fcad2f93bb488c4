package dev.kiln.steps.table;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Explains why DuckDB could not read a CSV when the reason is a row with the wrong number of
 * fields: DuckDB's sniffer then only says it found no dialect, which does not help a user.
 */
final class RaggedRows {
  private RaggedRows() {}

  /** "line N has X fields, the header has Y", or null when every row has the header's count. */
  static String find(Path file) {
    Table.Format format = Table.Format.byName(file);
    if (format != Table.Format.CSV && format != Table.Format.TSV) {
      return null; // Parquet has no rows to miscount; a compressed file is not read as text
    }
    char delim = format == Table.Format.TSV ? '\t' : ',';
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String header = r.readLine();
      if (header == null) {
        return "the file is empty (a header row is needed)";
      }
      int want = fields(header, delim);
      String line;
      long n = 1;
      while ((line = r.readLine()) != null) {
        n++;
        if (line.isEmpty()) {
          continue;
        }
        int got = fields(line, delim);
        if (got != want) {
          return "line " + n + " has " + got + " fields, the header has " + want;
        }
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return null; // the caller reports DuckDB's own message instead
    }
  }

  /** Fields of one line; a delimiter inside double quotes does not count. */
  private static int fields(String line, char delim) {
    int n = 1;
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char ch = line.charAt(i);
      if (ch == '"') {
        quoted = !quoted;
      } else if (ch == delim && !quoted) {
        n++;
      }
    }
    return n;
  }
}
