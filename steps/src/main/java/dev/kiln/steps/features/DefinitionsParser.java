package dev.kiln.steps.features;

import dev.kiln.dsl.model.Location;
import dev.kiln.dsl.parse.Fields;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.dsl.parse.Problems;
import dev.kiln.dsl.parse.YNode;
import dev.kiln.dsl.parse.YamlLoader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads every {@code kind: features} file of a folder through the dsl's located binder and resolves
 * the references between them. Every problem of every file is reported at once, as {@code
 * FILE:LINE:COL: message}, sorted by file and line.
 */
final class DefinitionsParser {
  /** Views and features become column names {@code VIEW__FEATURE}: no double underscore. */
  private static final Pattern IDENT = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  private static final Pattern SQL_START = Pattern.compile("(?is)\\s*(select|with|from)\\b.*");

  private final List<Problem> problems = new ArrayList<>();
  private final Map<String, Raw<Definitions.Entity>> entities = new LinkedHashMap<>();
  private final Map<String, Raw<Definitions.Source>> sources = new LinkedHashMap<>();
  private final Map<String, Raw<RawView>> views = new LinkedHashMap<>();
  private final Map<String, Raw<RawService>> services = new LinkedHashMap<>();

  record Raw<T>(T value, Location at) {}

  record RawView(
      String name,
      List<YNode.Scalar> entities,
      YNode.Scalar source,
      Duration ttl,
      List<Definitions.Feature> features,
      String transform) {}

  record RawService(String name, List<YNode.Scalar> refs) {}

  private DefinitionsParser() {}

  /** The feature files of a folder (its *.yaml and *.yml files with {@code kind: features}). */
  static Definitions parseDir(Path dir) throws FeatureException {
    if (!Files.isDirectory(dir)) {
      throw new FeatureException(dir + ": not a folder");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files =
          s.filter(
                  p -> {
                    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                    return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml"));
                  })
              .sorted()
              .toList();
    } catch (IOException e) {
      throw new FeatureException(dir + ": cannot list the folder: " + e.getMessage(), e);
    }
    Map<String, String> texts = new LinkedHashMap<>();
    for (Path f : files) {
      try {
        String text = Files.readString(f, StandardCharsets.UTF_8);
        if (Pattern.compile("(?m)^kind:\\s*features\\s*(#.*)?$").matcher(text).find()) {
          texts.put(f.toString(), text);
        }
      } catch (IOException e) {
        throw new FeatureException(f + ": cannot read: " + e.getMessage(), e);
      }
    }
    if (texts.isEmpty()) {
      throw new FeatureException(
          dir + ": no feature definitions (no *.yaml file with 'kind: features')");
    }
    return parse(texts);
  }

  /** Files by name to their text; paths in sources resolve against each file's folder. */
  static Definitions parse(Map<String, String> texts) throws FeatureException {
    DefinitionsParser p = new DefinitionsParser();
    for (var e : texts.entrySet()) {
      p.file(e.getKey(), e.getValue());
    }
    Definitions d =
        new DefinitionsCheck(p.problems).resolve(p.entities, p.sources, p.views, p.services);
    if (!p.problems.isEmpty()) {
      List<Problem> sorted = new ArrayList<>(new LinkedHashSet<>(p.problems));
      sorted.sort(
          Comparator.comparing((Problem x) -> x.location().file())
              .thenComparingInt(x -> x.location().line())
              .thenComparingInt(x -> x.location().column()));
      List<String> lines = sorted.stream().map(Problem::toString).toList();
      throw new FeatureException(String.join("\n", lines));
    }
    return d;
  }

  private void file(String file, String text) {
    Problems ps = new Problems(file);
    Fields f = new Fields(ps);
    YNode root =
        text.isBlank()
            ? null
            : YamlLoader.load(text, ps, "a feature definition file", "'kind: features'");
    if (root == null && ps.isEmpty()) {
      ps.addFile("empty file: a feature file needs 'kind: features'");
    }
    if (root != null) {
      YNode.Mapping m = f.map(root, "a feature file");
      if (m != null) {
        f.checkKeys(m, List.of("kind", "description", "entities", "sources", "views", "services"));
        String kind = f.required(m, "kind", "'kind'");
        if (kind != null && !kind.equals("features")) {
          ps.add(m.get("kind"), "'kind' must be 'features', got '" + kind + "'");
        }
        String dir = Path.of(file).toAbsolutePath().getParent().toString();
        each(f, m, "entities", (name, n) -> entity(f, name, n));
        each(f, m, "sources", (name, n) -> source(f, name, n, dir));
        each(f, m, "views", (name, n) -> view(f, name, n));
        each(f, m, "services", (name, n) -> service(f, name, n));
      }
    }
    problems.addAll(ps.sorted());
  }

  private interface Each {
    void accept(YNode.Scalar name, YNode value);
  }

  private static void each(Fields f, YNode.Mapping m, String key, Each each) {
    YNode.Mapping section = f.map(m.get(key), "'" + key + "'");
    if (section != null) {
      section.entries().values().forEach(e -> each.accept(e.key(), e.value()));
    }
  }

  private <T> void define(Map<String, Raw<T>> into, String what, YNode.Scalar name, T value) {
    Raw<T> first = into.get(name.text());
    if (first != null) {
      problems.add(
          new Problem(
              name.location(),
              "duplicate "
                  + what
                  + " '"
                  + name.text()
                  + "' (first defined at "
                  + first.at()
                  + ")"));
      return;
    }
    into.put(name.text(), new Raw<>(value, name.location()));
  }

  private boolean named(YNode.Scalar name, Pattern p, String what, String rule) {
    if (!p.matcher(name.text()).matches() || name.text().contains("__")) {
      problems.add(
          new Problem(name.location(), "invalid " + what + " name '" + name.text() + "': " + rule));
      return false;
    }
    return true;
  }

  private static final String IDENT_RULE =
      "use lower-case letters, digits and single '_' (it becomes part of a column name)";
  private static final String NAME_RULE = "use letters, digits, '.', '-' and '_'";

  private void entity(Fields f, YNode.Scalar name, YNode n) {
    named(name, NAME, "entity", NAME_RULE);
    YNode.Mapping m = f.map(n, "entity '" + name.text() + "'");
    if (m == null) {
      add(n == null ? name : n, "entity '" + name.text() + "' must be a map with 'join_keys'");
      return;
    }
    f.checkKeys(m, List.of("join_keys", "description"));
    List<String> keys = stringList(f, m, "join_keys", "'join_keys'");
    if (keys != null && keys.isEmpty()) {
      add(m, "entity '" + name.text() + "': 'join_keys' must list at least one column");
    }
    define(
        entities,
        "entity",
        name,
        new Definitions.Entity(name.text(), keys == null ? List.of() : keys, name.location()));
  }

  private void source(Fields f, YNode.Scalar name, YNode n, String dir) {
    named(name, NAME, "source", NAME_RULE);
    YNode.Mapping m = f.map(n, "source '" + name.text() + "'");
    if (m == null) {
      add(n == null ? name : n, "source '" + name.text() + "' must be a map");
      return;
    }
    f.checkKeys(m, List.of("path", "dataset", "format", "timestamp", "created", "description"));
    String path = f.string(m.get("path"), "'path'");
    String dataset = f.string(m.get("dataset"), "'dataset'");
    if ((path == null) == (dataset == null)) {
      add(m, "source '" + name.text() + "' needs exactly one of 'path' (a file glob) or 'dataset'");
    }
    String format = f.string(m.get("format"), "'format'");
    if (format != null && !format.equals("csv") && !format.equals("parquet")) {
      add(m.get("format"), "'format' must be csv or parquet, got '" + format + "'");
    }
    String timestamp = f.required(m, "timestamp", "'timestamp'");
    String created = f.string(m.get("created"), "'created'");
    define(
        sources,
        "source",
        name,
        new Definitions.Source(
            name.text(), path, dir, dataset, format, timestamp, created, name.location()));
  }

  private void view(Fields f, YNode.Scalar name, YNode n) {
    named(name, IDENT, "view", IDENT_RULE);
    YNode.Mapping m = f.map(n, "view '" + name.text() + "'");
    if (m == null) {
      add(n == null ? name : n, "view '" + name.text() + "' must be a map");
      return;
    }
    f.checkKeys(m, List.of("entities", "source", "ttl", "features", "transform", "description"));
    List<YNode.Scalar> ents = new ArrayList<>();
    YNode en = m.get("entities");
    if (en instanceof YNode.Seq seq && !seq.items().isEmpty()) {
      for (YNode item : seq.items()) {
        if (item instanceof YNode.Scalar s && !s.isNull()) {
          ents.add(s);
        } else {
          add(item, "an entity must be a name, got " + item.describe());
        }
      }
    } else {
      add(
          en == null ? m : en,
          "view '" + name.text() + "' needs 'entities': a list of entity names");
    }
    YNode src = m.get("source");
    YNode.Scalar source = null;
    if (src instanceof YNode.Scalar s && !s.isNull()) {
      source = s;
    } else {
      add(src == null ? m : src, "view '" + name.text() + "' needs 'source': a source name");
    }
    Duration ttl = f.duration(m.get("ttl"), "'ttl'", false);
    List<Definitions.Feature> features = new ArrayList<>();
    YNode.Mapping fm = f.map(m.get("features"), "'features'");
    if (fm == null || fm.entries().isEmpty()) {
      add(
          m.get("features") == null ? m : m.get("features"),
          "view '" + name.text() + "' needs 'features': a map like { spend: { type: float } }");
    } else {
      for (YNode.Entry e : fm.entries().values()) {
        named(e.key(), IDENT, "feature", IDENT_RULE);
        YNode.Mapping spec = f.map(e.value(), "feature '" + e.key().text() + "'");
        if (spec == null) {
          add(
              e.value() == null ? e.key() : e.value(),
              "feature '" + e.key().text() + "' needs { type: int|float|string|bool }");
          continue;
        }
        f.checkKeys(spec, List.of("type", "description"));
        String t = f.required(spec, "type", "'type'");
        FeatureType type = t == null ? null : FeatureType.of(t);
        if (t != null && type == null) {
          add(spec.get("type"), "'type' must be int, float, string or bool, got '" + t + "'");
        }
        features.add(new Definitions.Feature(e.key().text(), type));
      }
    }
    String transform = f.string(m.get("transform"), "'transform'");
    if (transform != null) {
      String t = transform.strip();
      if (t.endsWith(";")) {
        t = t.substring(0, t.length() - 1);
      }
      if (!SQL_START.matcher(t).matches() || t.contains(";")) {
        add(
            m.get("transform"),
            "'transform' must be one DuckDB SELECT over the table 'source' (no ';')");
      }
      transform = t;
    }
    define(views, "view", name, new RawView(name.text(), ents, source, ttl, features, transform));
  }

  private void service(Fields f, YNode.Scalar name, YNode n) {
    named(name, NAME, "service", NAME_RULE);
    List<YNode.Scalar> refs = new ArrayList<>();
    if (n instanceof YNode.Seq seq && !seq.items().isEmpty()) {
      for (YNode item : seq.items()) {
        if (item instanceof YNode.Scalar s && !s.isNull()) {
          refs.add(s);
        } else {
          add(item, "a service lists 'view:feature' strings, got " + item.describe());
        }
      }
    } else {
      add(
          n == null ? name : n,
          "service '" + name.text() + "' must be a list like [view:feature, ...]");
    }
    define(services, "service", name, new RawService(name.text(), refs));
  }

  private void add(YNode n, String message) {
    problems.add(new Problem(n.location(), message));
  }

  private void add(Location at, String message) {
    problems.add(new Problem(at, message));
  }

  private List<String> stringList(Fields f, YNode.Mapping m, String key, String what) {
    YNode n = m.get(key);
    if (n == null) {
      add(m, "missing required key '" + key + "'");
      return null;
    }
    if (!(n instanceof YNode.Seq seq)) {
      add(n, what + " must be a list of column names, got " + n.describe());
      return null;
    }
    List<String> out = new ArrayList<>();
    for (YNode item : seq.items()) {
      String s = f.string(item, what + " item");
      if (s != null && !s.isBlank()) {
        out.add(s);
      }
    }
    return out;
  }
}
