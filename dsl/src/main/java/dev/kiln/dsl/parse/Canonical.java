package dev.kiln.dsl.parse;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;

/**
 * The pipeline version: sha256 of the document as compact JSON with map keys sorted at every level.
 * Comments, formatting, quoting style and key order do not change it; any value does.
 *
 * <p>The text is byte for byte what Jackson's ObjectMapper writes with ORDER_MAP_ENTRIES_BY_KEYS (a
 * test holds it to that), written here straight from the tree: a 10,000-step pipeline is validated
 * on the command line in a cold JVM, where this small loop costs a fraction of Jackson's start-up
 * and generic serialisers.
 */
final class Canonical {
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private Canonical() {}

  static String json(YNode root) {
    StringBuilder out = new StringBuilder(4096);
    write(out, root);
    return out.toString();
  }

  static String version(YNode root) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest(json(root).getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static void write(StringBuilder out, YNode node) {
    if (node instanceof YNode.Scalar s) {
      Object v = s.value();
      if (v == null) {
        out.append("null");
      } else if (v instanceof Boolean || v instanceof Long || v instanceof BigInteger) {
        out.append(v);
      } else if (v instanceof Double d) {
        if (d.isNaN() || d.isInfinite()) {
          string(out, d.toString()); // as Jackson does: JSON has no NaN or Infinity
        } else {
          out.append(d.doubleValue());
        }
      } else {
        string(out, s.text());
      }
    } else if (node instanceof YNode.Seq seq) {
      out.append('[');
      for (int i = 0; i < seq.items().size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        write(out, seq.items().get(i));
      }
      out.append(']');
    } else {
      YNode.Mapping m = (YNode.Mapping) node;
      List<String> keys = new ArrayList<>(m.entries().keySet());
      Collections.sort(keys);
      out.append('{');
      for (int i = 0; i < keys.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        string(out, keys.get(i));
        out.append(':');
        write(out, m.get(keys.get(i)));
      }
      out.append('}');
    }
  }

  /** Jackson's default escaping: quote, backslash and control characters; nothing else. */
  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\t' -> out.append("\\t");
        case '\f' -> out.append("\\f");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        default -> {
          if (c < 0x20) {
            out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
