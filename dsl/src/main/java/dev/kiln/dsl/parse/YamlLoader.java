package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Location;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionStartEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.NodeEvent;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;

/**
 * Text to {@link YNode}, built straight from SnakeYAML's parser events (marks included). Skipping
 * SnakeYAML's composer saves a whole tree and its YAML 1.1 type guessing, which is most of the cost
 * of a large file, and puts every limit in one place: nesting depth, aliases to collections, and
 * the size of the document as if every alias were expanded (an alias bomb is refused by arithmetic,
 * without expanding anything). Aliases share the anchored node; merge keys ({@code <<: *base}) are
 * applied here, explicit keys winning. Every YAML file of Kiln is read through it (pipelines, data
 * schemas), so every problem carries FILE:LINE:COL.
 */
public final class YamlLoader {
  static final int MAX_DEPTH = 64;
  static final int MAX_NODES = 1_000_000;
  static final int MAX_ALIASES = 100;
  private static final String TAG = "tag:yaml.org,2002:";
  private static final Pattern INT = Pattern.compile("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  private static final Pattern FLOAT =
      Pattern.compile(
          "[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");

  private final ParserImpl parser;
  private final Problems problems;
  private final String file;
  private final Map<String, Anchor> anchors = new HashMap<>();
  private final Map<YNode, Boolean> open = new IdentityHashMap<>();
  private long nodes;
  private int aliases;
  private int height; // of the node the last call to node() returned

  private record Anchor(YNode node, long size, int height) {}

  /** What the file is, for messages: {@code a pipeline}, and what an empty one lacks. */
  private final String kind;

  private final String needs;

  private YamlLoader(ParserImpl parser, Problems problems, String kind, String needs) {
    this.parser = parser;
    this.problems = problems;
    this.file = problems.file();
    this.kind = kind;
    this.needs = needs;
  }

  /** A pipeline's root, or null after adding a problem. */
  static YNode load(String text, Problems problems) {
    return load(text, problems, "a pipeline", "at least 'name' and 'steps'");
  }

  /**
   * The document's root, or null after adding a problem. {@code kind} names the file in messages
   * ({@code a data schema}); {@code needs} says what an empty one lacks ({@code 'columns'}).
   */
  public static YNode load(String text, Problems problems, String kind, String needs) {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(PipelineParser.MAX_CHARS + 1);
    try {
      YamlLoader loader =
          new YamlLoader(new ParserImpl(new StreamReader(text), options), problems, kind, needs);
      return loader.document();
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      problems.add(location(problems.file(), mark), "invalid YAML: " + describe(e));
    } catch (Refused e) {
      problems.add(e.location, e.getMessage());
    } catch (YAMLException e) {
      problems.addFile("invalid YAML: " + e.getMessage());
    }
    return null;
  }

  private YNode document() {
    parser.getEvent(); // stream start
    if (parser.checkEvent(Event.ID.StreamEnd)) {
      problems.addFile("empty file (only comments): " + kind + " needs " + needs);
      return null;
    }
    parser.getEvent(); // document start
    YNode root = node(YNode.At.ROOT, 0);
    parser.getEvent(); // document end
    if (!parser.checkEvent(Event.ID.StreamEnd)) {
      throw new Refused(
          location(file, parser.peekEvent().getStartMark()),
          "invalid YAML: " + kind + " file holds one document; this is a second one");
    }
    return root;
  }

  private YNode node(YNode.At at, int depth) {
    Event event = parser.getEvent();
    Location loc = location(file, event.getStartMark());
    if (event instanceof AliasEvent alias) {
      return alias(alias, loc, depth);
    }
    if (++nodes > MAX_NODES) {
      throw new Refused(loc, tooLarge());
    }
    if (event instanceof ScalarEvent s) {
      YNode.Scalar scalar = scalar(s, at);
      height = 0;
      anchor(s, scalar, nodes - 1);
      return scalar;
    }
    if (depth >= MAX_DEPTH) {
      throw new Refused(loc, "the document nests deeper than " + MAX_DEPTH + " levels");
    }
    long before = nodes - 1;
    if (event.is(Event.ID.SequenceStart)) {
      List<YNode> items = new ArrayList<>();
      YNode.Seq seq = new YNode.Seq(items, loc, at);
      opening((NodeEvent) event, seq);
      int h = 0;
      while (!parser.checkEvent(Event.ID.SequenceEnd)) {
        items.add(node(at.item(items.size()), depth + 1));
        h = Math.max(h, height + 1);
      }
      parser.getEvent();
      open.remove(seq);
      height = h;
      anchor((NodeEvent) event, seq, before);
      return seq;
    }
    return mapping((CollectionStartEvent) event, loc, at, depth, before);
  }

  private YNode mapping(
      CollectionStartEvent start, Location loc, YNode.At at, int depth, long before) {
    Map<String, YNode.Entry> entries = new LinkedHashMap<>();
    YNode.Mapping map = new YNode.Mapping(entries, loc, at);
    opening(start, map);
    List<YNode> merges = new ArrayList<>();
    int h = 0;
    while (!parser.checkEvent(Event.ID.MappingEnd)) {
      Event keyEvent = parser.peekEvent();
      YNode keyNode = node(at, depth + 1);
      if (!(keyNode instanceof YNode.Scalar key)) {
        problems.add(
            keyNode,
            "map keys must be plain strings, not "
                + (keyNode instanceof YNode.Mapping ? "maps" : "lists"));
        node(at, depth + 1); // the value, read and dropped
        continue;
      }
      boolean merge =
          key.style() == ' ' && key.text().equals("<<") && keyEvent instanceof ScalarEvent;
      YNode value = node(merge ? at : at.child(key.text()), depth + 1);
      h = Math.max(h, height + 1);
      if (merge) {
        merges.add(value);
        continue;
      }
      YNode.Entry first = entries.get(key.text());
      if (first != null) {
        problems.add(
            key,
            "duplicate key '"
                + key.text()
                + "' (first defined at line "
                + first.key().location().line()
                + ")");
        continue;
      }
      entries.put(key.text(), new YNode.Entry(key, value));
    }
    parser.getEvent();
    for (YNode source : merges) {
      List<YNode> sources = source instanceof YNode.Seq seq ? seq.items() : List.of(source);
      for (YNode s : sources) {
        if (s instanceof YNode.Mapping m) {
          for (Map.Entry<String, YNode.Entry> e : m.entries().entrySet()) {
            entries.putIfAbsent(e.getKey(), e.getValue());
          }
        } else {
          problems.add(s, "'<<' merges maps only, got " + s.describe());
        }
      }
    }
    open.remove(map);
    height = h;
    anchor(start, map, before);
    return map;
  }

  private YNode alias(AliasEvent event, Location loc, int depth) {
    Anchor anchor = anchors.get(event.getAnchor());
    if (anchor == null) {
      throw new Refused(loc, "invalid YAML: unknown alias '*" + event.getAnchor() + "'");
    }
    if (open.containsKey(anchor.node)) {
      throw new Refused(
          loc,
          "invalid YAML: alias '*" + event.getAnchor() + "' refers to a node that contains it");
    }
    if (!(anchor.node instanceof YNode.Scalar) && ++aliases > MAX_ALIASES) {
      throw new Refused(
          loc, "too many aliases (more than " + MAX_ALIASES + " references to lists or maps)");
    }
    // Validation walks shared nodes once per reference, so count them as if copied.
    nodes += anchor.size;
    if (nodes > MAX_NODES) {
      throw new Refused(loc, tooLarge());
    }
    if (depth + anchor.height > MAX_DEPTH) {
      throw new Refused(loc, "the document nests deeper than " + MAX_DEPTH + " levels");
    }
    height = anchor.height;
    return anchor.node;
  }

  /** Registers a collection's anchor before its content, so an alias inside it is caught. */
  private void opening(NodeEvent event, YNode node) {
    open.put(node, true);
    if (event.getAnchor() != null) {
      anchors.put(event.getAnchor(), new Anchor(node, 0, 0));
    }
  }

  private void anchor(NodeEvent event, YNode node, long before) {
    if (event.getAnchor() != null) {
      anchors.put(event.getAnchor(), new Anchor(node, nodes - before, height));
    }
  }

  private YNode.Scalar scalar(ScalarEvent s, YNode.At at) {
    DumperOptions.ScalarStyle style = s.getScalarStyle();
    char c = style.getChar() == null ? ' ' : style.getChar();
    Object value;
    String tag = s.getTag();
    if (tag != null && !tag.equals("!")) {
      value = tagged(tag, s.getValue());
    } else if (c == ' ' && s.getImplicit().canOmitTagInPlainScalar()) {
      value = typed(s.getValue());
    } else {
      value = s.getValue();
    }
    return new YNode.Scalar(
        s.getValue(),
        value,
        c,
        location(file, s.getStartMark()),
        location(file, s.getEndMark()),
        at);
  }

  /**
   * A plain scalar typed by the YAML 1.2 core schema rather than SnakeYAML's YAML 1.1 default, so
   * {@code on}, {@code yes}, {@code no} and dates stay strings, as in most YAML tooling today.
   */
  static Object typed(String v) {
    if (v.isEmpty()) {
      return null;
    }
    switch (v.charAt(0)) {
      case '~', 'n', 'N' -> {
        if (v.equals("~") || v.equals("null") || v.equals("Null") || v.equals("NULL")) {
          return null;
        }
      }
      case 't', 'T', 'f', 'F' -> {
        if (v.equals("true") || v.equals("True") || v.equals("TRUE")) {
          return true;
        }
        if (v.equals("false") || v.equals("False") || v.equals("FALSE")) {
          return false;
        }
      }
      case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-', '+', '.' -> {
        if (INT.matcher(v).matches()) {
          return integer(v);
        }
        if (FLOAT.matcher(v).matches()) {
          return floating(v);
        }
      }
      default -> {}
    }
    return v;
  }

  /** An explicit {@code !!type}; other tags are not ours to interpret, so their text is kept. */
  private static Object tagged(String tag, String v) {
    try {
      return switch (tag) {
        case TAG + "null" -> null;
        case TAG + "bool" ->
            v.equalsIgnoreCase("true")
                ? Boolean.TRUE
                : v.equalsIgnoreCase("false") ? Boolean.FALSE : v;
        case TAG + "int" -> integer(v);
        case TAG + "float" -> floating(v);
        default -> v;
      };
    } catch (NumberFormatException e) {
      return v; // "!!int abc": keep the text, and the typed reads will report it
    }
  }

  private static Object integer(String v) {
    String t = v.startsWith("+") ? v.substring(1) : v;
    BigInteger n;
    if (t.startsWith("0x")) {
      n = new BigInteger(t.substring(2), 16);
    } else if (t.startsWith("0o")) {
      n = new BigInteger(t.substring(2), 8);
    } else {
      n = new BigInteger(t);
    }
    return n.bitLength() < 64 ? (Object) n.longValue() : n;
  }

  private static Object floating(String v) {
    String t = v.toLowerCase(Locale.ROOT);
    if (t.endsWith(".inf")) {
      return t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (t.equals(".nan")) {
      return Double.NaN;
    }
    return Double.parseDouble(v);
  }

  private static String tooLarge() {
    return "the document has more than " + MAX_NODES + " YAML nodes, counting each alias as a copy";
  }

  static Location location(String file, Mark mark) {
    return mark == null
        ? new Location(file, 0, 0)
        : new Location(file, mark.getLine() + 1, mark.getColumn() + 1);
  }

  private static String describe(MarkedYAMLException e) {
    String problem = e.getProblem() == null ? "" : e.getProblem().trim();
    String context = e.getContext() == null ? "" : e.getContext().trim();
    if (problem.contains("<block")) {
      // SnakeYAML speaks in parser states here; what the user did is almost always indentation.
      problem = "bad indentation: " + problem;
    }
    if (problem.isEmpty()) {
      return context;
    }
    return context.isEmpty() ? problem : problem + " (" + context + ")";
  }

  /** Stops loading: the input is past a limit, and nothing after this point would be useful. */
  private static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient Location location;

    Refused(Location location, String message) {
      super(message, null, false, false);
      this.location = location;
    }
  }
}
