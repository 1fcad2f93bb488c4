package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Location;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The YAML document as a tree where every node keeps where it starts and its path ({@code
 * steps.train.needs[0]}). Validation reads only this tree, never SnakeYAML's nodes.
 */
public sealed interface YNode {
  Location location();

  At at();

  /** Where the node sits in the document, such as {@code steps.train.needs[0]}. */
  default String path() {
    return at().toString();
  }

  /**
   * How the node reads in a message: {@code 'abc'}, {@code a list}, {@code a map}, {@code nothing}.
   */
  String describe();

  /**
   * A scalar. {@code value} is typed by the YAML 1.2 core schema (null, Boolean, Long or
   * BigInteger, Double, String); {@code text} is what was written. {@code style} is the YAML scalar
   * style ({@code ' '} plain, {@code '\''}, {@code '"'}, {@code '|'}, {@code '>'}).
   */
  record Scalar(String text, Object value, char style, Location location, Location end, At at)
      implements YNode {
    public boolean isNull() {
      return value == null;
    }

    @Override
    public String describe() {
      if (value == null) {
        return "nothing";
      }
      String shown = text.length() > 60 ? text.substring(0, 57) + "..." : text;
      return "'" + shown.replace("\n", "\\n") + "'";
    }
  }

  record Seq(List<YNode> items, Location location, At at) implements YNode {
    @Override
    public String describe() {
      return "a list";
    }
  }

  /** A map without duplicate keys (the loader reported and dropped later duplicates). */
  record Mapping(Map<String, Entry> entries, Location location, At at) implements YNode {
    public Mapping {
      // Wrapped, not copied: the loader fills the map while it reads the mapping (the node must
      // exist first so that an alias inside it can be recognised) and never touches it after.
      entries = Collections.unmodifiableMap(entries);
    }

    public YNode get(String key) {
      Entry e = entries.get(key);
      return e == null ? null : e.value();
    }

    public Scalar keyNode(String key) {
      Entry e = entries.get(key);
      return e == null ? null : e.key();
    }

    public boolean has(String key) {
      return entries.containsKey(key);
    }

    @Override
    public String describe() {
      return "a map";
    }
  }

  record Entry(Scalar key, YNode value) {}

  /**
   * A node's place in the document, linked to its parent's and printed only when asked, so a large
   * document does not build a path string for every node.
   */
  public record At(At parent, String key, int index) {
    static final At ROOT = new At(null, null, -1);

    At child(String name) {
      return new At(this, name, -1);
    }

    At item(int i) {
      return new At(this, null, i);
    }

    @Override
    public String toString() {
      if (parent == null) {
        return "";
      }
      String base = parent.toString();
      if (key == null) {
        return base + "[" + index + "]";
      }
      return base.isEmpty() ? key : base + "." + key;
    }
  }
}
