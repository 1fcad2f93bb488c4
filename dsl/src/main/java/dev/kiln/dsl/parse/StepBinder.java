package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.Defaults;
import dev.kiln.dsl.model.Resources;
import dev.kiln.dsl.model.RetryPolicy;
import dev.kiln.dsl.model.Step;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** Binds {@code steps:}: each step's keys, types and values; the graph is checked afterwards. */
final class StepBinder {
  static final List<String> KEYS =
      List.of(
          "needs",
          "run",
          "uses",
          "with",
          "if",
          "image",
          "retries",
          "timeout",
          "continue_on_error",
          "matrix",
          "cache",
          "queue",
          "env",
          "resources",
          "description",
          "user",
          "network",
          "capabilities",
          "executor");
  static final Pattern ID = Pattern.compile("[a-zA-Z0-9_-]+");
  private static final Pattern CAPABILITY = Pattern.compile("(CAP_)?[A-Z][A-Z_]*");
  private static final Pattern USES =
      Pattern.compile("[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*");

  /**
   * A step as bound, with what the graph and expression checks need: where each {@code needs} entry
   * was written and the matrix keys. {@code step} may hold nulls when the step has problems.
   */
  record StepDraft(Step step, YNode.Scalar key, Map<String, YNode.Scalar> needNodes) {}

  private final Fields f;
  private final Problems problems;
  private final ExpressionCheck exprs;
  private final StepParts parts;

  private final Catalogue builtins;
  private final Defaults defaults;

  private StepBinder(Fields f, ExpressionCheck exprs, Catalogue builtins, Defaults defaults) {
    this.builtins = builtins;
    this.defaults = defaults;
    this.f = f;
    this.problems = f.problems();
    this.exprs = exprs;
    this.parts = new StepParts(f);
  }

  /** The steps in file order (ids unique: the loader dropped duplicate keys). */
  static List<StepDraft> bind(
      YNode.Mapping steps, Fields f, ExpressionCheck exprs, Catalogue builtins, Defaults defaults) {
    StepBinder binder = new StepBinder(f, exprs, builtins, defaults);
    List<StepDraft> drafts = new ArrayList<>(steps.entries().size());
    for (YNode.Entry e : steps.entries().values()) {
      drafts.add(binder.step(e.key(), e.value()));
    }
    return drafts;
  }

  private StepDraft step(YNode.Scalar key, YNode value) {
    String id = key.text();
    if (!ID.matcher(id).matches()) {
      problems.add(key, "invalid step id '" + id + "': use letters, digits, '_' and '-'");
    }
    YNode.Mapping m = Fields.absent(value) ? null : f.map(value, "step '" + id + "'");
    if (m == null) {
      if (Fields.absent(value)) {
        problems.add(key, "step '" + id + "' is empty: give it 'run' or 'uses'");
      }
      return new StepDraft(empty(id, key), key, Map.of());
    }
    f.checkKeys(m, KEYS);
    Map<String, YNode.Scalar> needNodes = needs(m.get("needs"), id);
    Action action = action(m, key);
    String condition = condition(m.get("if"), id);
    String image = f.string(m.get("image"), "'image'");
    exprs.scan(m.get("image"), ExpressionCheck.Scope.STEP, id);
    RetryPolicy retries = f.retries(m.get("retries"));
    Duration timeout = f.duration(m.get("timeout"), "'timeout'", false);
    Boolean continueOnError = f.bool(m.get("continue_on_error"), "'continue_on_error'");
    Map<String, List<Object>> matrix = parts.matrix(m.get("matrix"), id);
    Boolean cache = f.bool(m.get("cache"), "'cache'");
    String queue = f.queue(m.get("queue"));
    Map<String, String> env = f.env(m.get("env"));
    exprs.scan(m.get("env"), ExpressionCheck.Scope.STEP, id);
    Resources resources = parts.resources(m.get("resources"));
    f.string(m.get("description"), "'description'");
    String user = f.literal(m.get("user"), "'user'");
    String network = f.literal(m.get("network"), "'network'");
    List<String> capabilities = capabilities(m.get("capabilities"));
    String executor = executor(m, action, image);
    Step step =
        new Step(
            id,
            List.copyOf(needNodes.keySet()),
            action,
            condition,
            image,
            retries,
            timeout,
            Boolean.TRUE.equals(continueOnError),
            matrix,
            Boolean.TRUE.equals(cache),
            queue,
            env,
            resources,
            user,
            network,
            capabilities,
            executor,
            key.location());
    return new StepDraft(step, key, needNodes);
  }

  /**
   * The executor a {@code run} step requires: one that workers know, on a step that runs a command,
   * and with an image (the step's or the defaults') when it runs one in a container or a pod.
   */
  private String executor(YNode.Mapping m, Action action, String image) {
    YNode n = m.get("executor");
    String executor = f.literal(n, "'executor'");
    if (executor == null || executor.contains("${{")) {
      return null; // an expression was reported by literal()
    }
    if (!Step.EXECUTORS.contains(executor)) {
      problems.add(
          n,
          "unknown executor '"
              + executor
              + "': use docker, process or kubernetes"
              + problems.suggest(executor, Step.EXECUTORS));
    } else if (action instanceof Action.Uses) {
      problems.add(
          n, "'executor' applies to 'run' steps; a built-in step ('uses') runs in the worker");
    } else if (!executor.equals("process") && image == null && defaults.image() == null) {
      problems.add(
          n,
          "executor '"
              + executor
              + "' runs the step in an image: give the step an 'image' (or defaults.image)");
    }
    return executor;
  }

  private static Step empty(String id, YNode.Scalar key) {
    return new Step(
        id,
        List.of(),
        null,
        null,
        null,
        null,
        null,
        false,
        Map.of(),
        false,
        null,
        Map.of(),
        Resources.NONE,
        null,
        null,
        List.of(),
        null,
        key.location());
  }

  /** Linux capabilities a container step keeps (all others are dropped), as NAME without CAP_. */
  private List<String> capabilities(YNode n) {
    List<String> out = new ArrayList<>();
    if (Fields.absent(n)) {
      return out;
    }
    if (!(n instanceof YNode.Seq seq)) {
      problems.add(
          n, "'capabilities' must be a list such as [NET_BIND_SERVICE], got " + n.describe());
      return out;
    }
    for (YNode item : seq.items()) {
      if (item instanceof YNode.Scalar s && !s.isNull() && CAPABILITY.matcher(s.text()).matches()) {
        out.add(s.text().startsWith("CAP_") ? s.text().substring(4) : s.text());
      } else {
        problems.add(
            item,
            "'capabilities' entries are Linux capability names such as NET_BIND_SERVICE, got "
                + (item instanceof YNode.Scalar s ? "'" + s.text() + "'" : item.describe()));
      }
    }
    return out;
  }

  /** {@code needs: a} or {@code needs: [a, b]}; the node of each id, in order, without repeats. */
  private Map<String, YNode.Scalar> needs(YNode n, String id) {
    Map<String, YNode.Scalar> out = new LinkedHashMap<>();
    if (Fields.absent(n)) {
      return out;
    }
    List<YNode> items = n instanceof YNode.Seq seq ? seq.items() : List.of(n);
    if (n instanceof YNode.Mapping) {
      problems.add(n, "'needs' must be a list of step ids or a single step id, got a map");
      return out;
    }
    for (YNode item : items) {
      if (!(item instanceof YNode.Scalar s) || s.isNull()) {
        problems.add(
            item,
            "'needs' must be a list of step ids or a single step id, got "
                + (item instanceof YNode.Seq ? "a list inside the list" : item.describe()));
        continue;
      }
      if (out.putIfAbsent(s.text(), s) != null) {
        problems.add(s, "step '" + id + "' needs '" + s.text() + "' twice");
      }
    }
    return out;
  }

  private Action action(YNode.Mapping m, YNode.Scalar stepKey) {
    String id = stepKey.text();
    YNode.Scalar runKey = m.keyNode("run");
    YNode.Scalar usesKey = m.keyNode("uses");
    if (runKey == null && usesKey == null) {
      problems.add(stepKey, "step '" + id + "' needs either 'run' or 'uses'");
    } else if (runKey != null && usesKey != null) {
      YNode.Scalar later = runKey.location().line() > usesKey.location().line() ? runKey : usesKey;
      problems.add(later, "step '" + id + "' has both 'run' and 'uses': keep one");
    }
    if (m.has("with") && usesKey == null) {
      problems.add(m.keyNode("with"), "'with' is only for 'uses' steps");
    }
    Action action = null;
    if (runKey != null) {
      String command = f.required(m, "run", "'run'");
      exprs.scan(m.get("run"), ExpressionCheck.Scope.STEP, id);
      exprs.shell(m.get("run"));
      action = command == null ? null : new Action.Run(command);
    }
    if (usesKey != null) {
      String name = f.required(m, "uses", "'uses'");
      if (name != null && name.contains("${{")) {
        f.literal(m.get("uses"), "'uses'");
      } else if (name != null && !USES.matcher(name).matches()) {
        problems.add(
            m.get("uses"),
            "'uses' must name a built-in step like dataset/version, got '" + name + "'");
      }
      Map<String, Object> with = Map.of();
      YNode.Mapping wm = f.map(m.get("with"), "'with'");
      if (wm != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> plain = (Map<String, Object>) Fields.plain(wm);
        with = plain;
        exprs.scan(wm, ExpressionCheck.Scope.STEP, id);
      }
      if (name != null && !name.contains("${{") && builtins.checks()) {
        checkBuiltin(id, name, m.get("uses"), wm, m.keyNode("with"));
      }
      if (runKey == null && name != null) {
        action = new Action.Uses(name, with);
      }
    }
    return action;
  }

  /**
   * {@code uses:} names a built-in of the catalogue, and {@code with:} has its required keys, no
   * unknown key, and values of the declared types (an expression fits any type).
   */
  private void checkBuiltin(
      String id, String name, YNode usesNode, YNode.Mapping with, YNode.Scalar withKey) {
    Optional<BuiltinSpec> found = builtins.find(name);
    if (found.isEmpty()) {
      String close = Suggest.closest(name, builtins.names());
      problems.add(
          usesNode,
          "step '"
              + id
              + "': unknown built-in step '"
              + name
              + "'"
              + (close != null
                  ? "; did you mean '" + close + "'?"
                  : "; the built-ins are " + String.join(", ", builtins.names())));
      return;
    }
    BuiltinSpec spec = found.get();
    if (spec.with() == null) {
      return;
    }
    Map<String, BuiltinSpec.WithKey> keys = new LinkedHashMap<>();
    spec.with().forEach(k -> keys.put(k.name(), k));
    if (with != null) {
      for (YNode.Entry e : with.entries().values()) {
        String key = e.key().text();
        BuiltinSpec.WithKey declared = keys.get(key);
        if (declared == null) {
          String close = Suggest.closest(key, keys.keySet());
          problems.add(
              e.key(),
              name
                  + ": unknown key 'with."
                  + key
                  + "'"
                  + (close != null
                      ? "; did you mean '" + close + "'?"
                      : keys.isEmpty()
                          ? "; it takes no 'with'"
                          : "; it takes " + String.join(", ", keys.keySet())));
          continue;
        }
        Object v = Fields.absent(e.value()) ? null : Fields.plain(e.value());
        if (!declared.type().accepts(v)) {
          problems.add(
              e.value(),
              name
                  + ": 'with."
                  + key
                  + "' must be "
                  + declared.type().describe()
                  + ", got "
                  + e.value().describe());
        }
      }
    }
    for (BuiltinSpec.WithKey k : spec.with()) {
      if (k.required() && (with == null || Fields.absent(with.get(k.name())))) {
        problems.add(
            with != null ? withKey : usesNode,
            name + ": missing required key 'with." + k.name() + "' (" + k.description() + ")");
      }
    }
  }

  private String condition(YNode n, String id) {
    if (Fields.absent(n)) {
      return null;
    }
    if (!(n instanceof YNode.Scalar s)) {
      problems.add(n, "'if' must be an expression, got " + n.describe());
      return null;
    }
    exprs.condition(s, id);
    return s.text();
  }
}
