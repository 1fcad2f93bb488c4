package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Concurrency;
import dev.kiln.dsl.model.Defaults;
import dev.kiln.dsl.model.Hook;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.RetryPolicy;
import dev.kiln.dsl.model.Source;
import dev.kiln.dsl.model.Step;
import dev.kiln.dsl.model.Trigger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The top level of a pipeline: binds each section, runs the graph and expression checks, builds.
 */
final class PipelineBinder {
  static final List<String> KEYS =
      List.of(
          "name",
          "description",
          "params",
          "triggers",
          "defaults",
          "steps",
          "on_failure",
          "on_success",
          "concurrency");
  static final List<String> DEFAULTS_KEYS = List.of("image", "retries", "timeout", "queue", "env");
  static final List<String> CONCURRENCY = List.of("allow", "forbid", "replace");
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

  private PipelineBinder() {}

  /** The pipeline, or null when {@code problems} received anything. */
  static Pipeline bind(String file, String text, YNode root, Problems problems) {
    return bind(file, text, root, problems, Catalogue.NONE);
  }

  /** {@link #bind(String, String, YNode, Problems)}, checking built-ins against a catalogue. */
  static Pipeline bind(
      String file, String text, YNode root, Problems problems, Catalogue builtins) {
    Fields f = new Fields(problems);
    if (!(root instanceof YNode.Mapping m)) {
      problems.add(
          root, "a pipeline must be a map with 'name' and 'steps', got " + root.describe());
      return null;
    }
    ExpressionCheck exprs = new ExpressionCheck(problems, new SourceMap(text));
    f.checkKeys(m, KEYS, true);
    String name = f.required(m, "name", "'name'");
    if (name != null && !NAME.matcher(name).matches()) {
      problems.add(
          m.get("name"),
          "invalid pipeline name '"
              + name
              + "': use lowercase letters, digits and '-', starting with a letter or digit");
    }
    String description = f.string(m.get("description"), "'description'");
    String concurrency = f.literal(m.get("concurrency"), "'concurrency'");
    if (concurrency != null && !CONCURRENCY.contains(concurrency)) {
      problems.add(
          m.get("concurrency"),
          "'concurrency' must be allow, forbid or replace, got '" + concurrency + "'");
    }
    Map<String, ParamSpec> params = ParamBinder.bind(m.get("params"), f);
    List<Trigger> triggers = TriggerBinder.bind(m.get("triggers"), params, f, exprs);
    Defaults defaults = defaults(m.get("defaults"), f, exprs);
    List<StepBinder.StepDraft> drafts = new ArrayList<>(steps(m, f, exprs, builtins, defaults));
    Map<String, Hook> hooks = HookCheck.bind(m, drafts, f, exprs, builtins, defaults);
    Map<String, List<String>> needs = GraphCheck.check(drafts, problems);
    HookCheck.checkNeeds(drafts, hooks, problems);
    exprs.check(params, drafts, HookCheck.readable(needs, hooks));
    if (!problems.isEmpty()) {
      return null;
    }
    Map<String, Step> steps = new LinkedHashMap<>();
    for (StepBinder.StepDraft d : drafts) {
      steps.put(d.step().id(), d.step());
    }
    return new Pipeline(
        name,
        description,
        params,
        triggers,
        defaults,
        Collections.unmodifiableMap(steps),
        Concurrency.of(concurrency),
        new Source(file, text, Canonical.version(root)),
        hooks);
  }

  private static List<StepBinder.StepDraft> steps(
      YNode.Mapping root, Fields f, ExpressionCheck exprs, Catalogue builtins, Defaults defaults) {
    Problems problems = f.problems();
    if (!root.has("steps")) {
      problems.add(root, "missing required key 'steps'");
      return List.of();
    }
    YNode n = root.get("steps");
    YNode.Mapping steps = f.map(n, "'steps'");
    if (Fields.absent(n) || (steps != null && steps.entries().isEmpty())) {
      problems.add(
          Fields.absent(n) ? root.keyNode("steps") : n, "'steps' is empty: add at least one step");
    }
    return steps == null ? List.of() : StepBinder.bind(steps, f, exprs, builtins, defaults);
  }

  private static Defaults defaults(YNode n, Fields f, ExpressionCheck exprs) {
    YNode.Mapping m = f.map(n, "'defaults'");
    if (m == null) {
      return Defaults.NONE;
    }
    f.checkKeys(m, DEFAULTS_KEYS);
    String image = f.string(m.get("image"), "'image'");
    exprs.scan(m.get("image"), ExpressionCheck.Scope.DEFAULTS, null);
    RetryPolicy retries = f.retries(m.get("retries"));
    Duration timeout = f.duration(m.get("timeout"), "'timeout'", false);
    String queue = f.queue(m.get("queue"));
    Map<String, String> env = f.env(m.get("env"));
    exprs.scan(m.get("env"), ExpressionCheck.Scope.DEFAULTS, null);
    return new Defaults(image, retries, timeout, queue, Collections.unmodifiableMap(env));
  }
}
