package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Location;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps an offset inside a scalar's value back to a line and column of the file, so an expression
 * error points at the character, not at the start of the string. Where the value differs from the
 * source (escapes, folding, multi-line plain scalars) it falls back to the scalar's start.
 */
final class SourceMap {
  private final String text;
  private int[] lineStarts;

  SourceMap(String text) {
    this.text = text;
  }

  Location locate(YNode.Scalar node, int offset) {
    Location start = node.location();
    String value = node.text();
    if (offset < 0 || offset > value.length() || start.line() <= 0) {
      return start;
    }
    switch (node.style()) {
      case ' ', '\'', '"' -> {
        int quote = node.style() == ' ' ? 0 : 1;
        String line = line(start.line());
        int from = start.column() - 1 + quote;
        if (line != null
            && node.end().line() == start.line()
            && line.startsWith(value.substring(0, offset), from)) {
          return new Location(start.file(), start.line(), from + offset + 1);
        }
      }
      case '|', '>' -> {
        int lineIndex = 0;
        int lineStart = 0;
        for (int i = 0; i < offset; i++) {
          if (value.charAt(i) == '\n') {
            lineIndex++;
            lineStart = i + 1;
          }
        }
        int lineEnd = value.indexOf('\n', lineStart);
        String valueLine = value.substring(lineStart, lineEnd < 0 ? value.length() : lineEnd);
        // Content starts on the line after the '|' or '>' indicator.
        String line = line(start.line() + 1 + lineIndex);
        if (line != null
            && (node.style() == '|'
                || value.indexOf('\n') == value.length() - 1
                || value.indexOf('\n') < 0)
            && line.endsWith(valueLine)) {
          int indent = line.length() - valueLine.length();
          return new Location(
              start.file(), start.line() + 1 + lineIndex, indent + offset - lineStart + 1);
        }
      }
      default -> {}
    }
    return start;
  }

  /** The 1-based line without its line break, or null past the end. */
  private String line(int number) {
    if (lineStarts == null) {
      List<Integer> starts = new ArrayList<>();
      starts.add(0);
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\n' || (c == '\r' && (i + 1 >= text.length() || text.charAt(i + 1) != '\n'))) {
          starts.add(i + 1);
        }
      }
      lineStarts = starts.stream().mapToInt(Integer::intValue).toArray();
    }
    if (number < 1 || number > lineStarts.length) {
      return null;
    }
    int from = lineStarts[number - 1];
    int to = number < lineStarts.length ? lineStarts[number] : text.length();
    while (to > from && (text.charAt(to - 1) == '\n' || text.charAt(to - 1) == '\r')) {
      to--;
    }
    return text.substring(from, to);
  }
}
