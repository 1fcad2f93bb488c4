package dev.kiln.dsl.parse;

import dev.kiln.dsl.expr.Condition;
import dev.kiln.dsl.expr.EvalException;
import dev.kiln.dsl.expr.Expr;
import dev.kiln.dsl.expr.ExprException;
import dev.kiln.dsl.expr.Template;
import dev.kiln.dsl.model.ParamSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses every {@code ${{ }}} and checks what it reads: declared params, steps the reading step
 * (transitively) needs, known run fields, matrix keys of its own step. Strings are collected while
 * binding and checked once the whole graph is known.
 */
final class ExpressionCheck {

  /** Where an expression is written decides what it may read. */
  enum Scope {
    STEP("a step", List.of("params", "steps", "run", "matrix", "secrets")),
    DEFAULTS("defaults", List.of("params", "run", "secrets")),
    TRIGGER("webhook params", List.of("body"));

    final String label;
    final List<String> roots;

    Scope(String label, List<String> roots) {
      this.label = label;
      this.roots = roots;
    }
  }

  private static final List<String> ALL_ROOTS =
      List.of("params", "steps", "run", "matrix", "secrets", "body");
  private static final List<String> RUN_FIELDS = List.of("id", "trigger", "scheduled_at");

  private record Site(YNode.Scalar node, boolean condition, Scope scope, String stepId) {}

  /** A read of a step that is not a direct need; checked against the graph at the end. */
  private record Pending(String source, String target, Site site, Expr.Ref ref) {}

  private final Problems problems;
  private final SourceMap sourceMap;
  private final List<Site> sites = new ArrayList<>();

  ExpressionCheck(Problems problems, SourceMap sourceMap) {
    this.problems = problems;
    this.sourceMap = sourceMap;
  }

  /** Registers every string under {@code node} that holds a {@code ${{}. */
  void scan(YNode node, Scope scope, String stepId) {
    if (node instanceof YNode.Scalar s) {
      if (s.value() instanceof String text && text.contains("${{")) {
        sites.add(new Site(s, false, scope, stepId));
      }
    } else if (node instanceof YNode.Seq seq) {
      for (YNode item : seq.items()) {
        scan(item, scope, stepId);
      }
    } else if (node instanceof YNode.Mapping m) {
      for (YNode.Entry e : m.entries().values()) {
        scan(e.value(), scope, stepId);
      }
    }
  }

  /**
   * Checks that a {@code run:} command can be rendered for the shell (docs/security.md): no {@code
   * ${{ }}} where no environment variable reference can work.
   */
  void shell(YNode node) {
    if (node instanceof YNode.Scalar s
        && s.value() instanceof String text
        && text.contains("${{")) {
      try {
        Template.parse(text).renderShell((e, number) -> "KILN_EXPR_1");
      } catch (EvalException e) {
        problems.add(s, "'run': " + e.getMessage());
      } catch (ExprException e) {
        // reported with its column by check()
      }
    }
  }

  void condition(YNode.Scalar node, String stepId) {
    sites.add(new Site(node, true, Scope.STEP, stepId));
  }

  void check(
      Map<String, ParamSpec> params,
      List<StepBinder.StepDraft> drafts,
      Map<String, List<String>> needs) {
    Map<String, StepBinder.StepDraft> steps = new LinkedHashMap<>();
    for (StepBinder.StepDraft d : drafts) {
      steps.put(d.step().id(), d);
    }
    Map<String, List<Pending>> byTarget = new LinkedHashMap<>();
    for (Site site : sites) {
      List<Expr.Ref> refs;
      try {
        refs =
            site.condition
                ? Condition.parse(site.node.text()).referenceSites()
                : Template.parse(site.node.text()).referenceSites();
      } catch (ExprException e) {
        problems.add(
            sourceMap.locate(site.node, e.column()), "invalid expression: " + e.getMessage());
        continue;
      }
      for (Expr.Ref ref : refs) {
        reference(site, ref, params, steps, byTarget);
      }
    }
    checkReachable(byTarget, needs);
  }

  private void reference(
      Site site,
      Expr.Ref ref,
      Map<String, ParamSpec> params,
      Map<String, StepBinder.StepDraft> steps,
      Map<String, List<Pending>> byTarget) {
    List<String> path = ref.path();
    String root = path.get(0);
    if (!site.scope.roots.contains(root)) {
      String dotted = ref.dotted();
      if (root.equals("body")) {
        report(site, ref, "'" + dotted + "': 'body' is only available in webhook trigger params");
      } else if (ALL_ROOTS.contains(root)) {
        report(
            site,
            ref,
            "'"
                + dotted
                + "' is not available in "
                + site.scope.label
                + ", which can read "
                + String.join(", ", site.scope.roots));
      } else {
        String best = problems.closest(root, site.scope.roots);
        String rest = dotted.substring(root.length());
        report(
            site,
            ref,
            "unknown reference '"
                + dotted
                + "'"
                + (best == null
                    ? " (expressions here can read " + String.join(", ", site.scope.roots) + ")"
                    : " — did you mean '" + best + rest + "'?"));
      }
      return;
    }
    switch (root) {
      case "params" -> {
        if (path.size() != 2) {
          report(site, ref, "'" + ref.dotted() + "': use params.<name>");
        } else if (!params.containsKey(path.get(1))) {
          String hint = problems.suggest(path.get(1), params.keySet());
          report(
              site,
              ref,
              "unknown param '"
                  + path.get(1)
                  + "'"
                  + (!hint.isEmpty()
                      ? hint
                      : params.isEmpty()
                          ? " (the pipeline declares no params)"
                          : " (declared: " + String.join(", ", params.keySet()) + ")"));
        }
      }
      case "steps" -> step(site, ref, steps, byTarget);
      case "run" -> {
        if (path.size() != 2 || !RUN_FIELDS.contains(path.get(1))) {
          report(
              site,
              ref,
              "unknown reference '"
                  + ref.dotted()
                  + "': use run.id, run.trigger or run.scheduled_at");
        }
      }
      case "matrix" -> {
        Set<String> keys = steps.get(site.stepId).step().matrix().keySet();
        if (path.size() != 2) {
          report(site, ref, "'" + ref.dotted() + "': use matrix.<key>");
        } else if (keys.isEmpty()) {
          report(site, ref, "'" + ref.dotted() + "': step '" + site.stepId + "' has no matrix");
        } else if (!keys.contains(path.get(1))) {
          report(
              site,
              ref,
              "unknown matrix key '" + path.get(1) + "'" + problems.suggest(path.get(1), keys));
        }
      }
      case "secrets" -> {
        if (path.size() != 2) {
          report(site, ref, "'" + ref.dotted() + "': use secrets.<NAME>");
        } else if (site.condition) {
          report(site, ref, "'" + ref.dotted() + "': a secret cannot be read in 'if'");
        }
      }
      default -> { // body: any field of the JSON body
        if (path.size() < 2) {
          report(site, ref, "'" + ref.dotted() + "': use body.<field>");
        }
      }
    }
  }

  private void step(
      Site site,
      Expr.Ref ref,
      Map<String, StepBinder.StepDraft> steps,
      Map<String, List<Pending>> byTarget) {
    List<String> path = ref.path();
    boolean shaped =
        (path.size() == 3 && path.get(2).equals("status"))
            || (path.size() == 4
                && (path.get(2).equals("outputs") || path.get(2).equals("artifacts")));
    String target = path.size() > 1 ? path.get(1) : "<id>";
    if (!shaped) {
      report(
          site,
          ref,
          "'"
              + ref.dotted()
              + "': use steps."
              + target
              + ".outputs.<name>, steps."
              + target
              + ".artifacts.<name> or steps."
              + target
              + ".status");
      return;
    }
    if (!steps.containsKey(target)) {
      report(
          site,
          ref,
          "unknown step '"
              + target
              + "' in '"
              + ref.dotted()
              + "'"
              + problems.suggest(target, steps.keySet()));
      return;
    }
    if (target.equals(site.stepId)) {
      report(
          site,
          ref,
          "step '" + target + "' reads '" + ref.dotted() + "': a step cannot read its own results");
      return;
    }
    Map<String, YNode.Scalar> direct = steps.get(site.stepId).needNodes();
    if (!direct.containsKey(target) && !needOfNeed(direct.keySet(), target, steps)) {
      byTarget
          .computeIfAbsent(target, k -> new ArrayList<>())
          .add(new Pending(site.stepId, target, site, ref));
    }
  }

  /** Reading a grandparent is common enough to settle without a graph search. */
  private static boolean needOfNeed(
      Set<String> direct, String target, Map<String, StepBinder.StepDraft> steps) {
    for (String need : direct) {
      StepBinder.StepDraft d = steps.get(need);
      if (d != null && d.needNodes().containsKey(target)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Each read of a step that is not a direct need must be of a transitive one. Reachability is
   * answered for 64 read steps at a time: one pass in topological order pushes a 64-bit mask of
   * "descends from target k" along the edges. That is O((steps + edges) x targets / 64) however the
   * reads are spread, where a search per read can be quadratic. Steps on or after a cycle have no
   * topological place; the cycle is reported and their reads are checked once it is gone.
   */
  private void checkReachable(
      Map<String, List<Pending>> byTarget, Map<String, List<String>> needs) {
    if (byTarget.isEmpty()) {
      return;
    }
    Map<String, Integer> index = new HashMap<>();
    for (String id : needs.keySet()) {
      index.put(id, index.size());
    }
    int n = index.size();
    int[][] dependents = dependents(needs, index);
    int[] order = topologicalOrder(dependents);
    boolean[] ordered = new boolean[n];
    for (int v : order) {
      ordered[v] = true;
    }
    List<Map.Entry<String, List<Pending>>> targets = new ArrayList<>(byTarget.entrySet());
    long[] mask = new long[n];
    for (int batch = 0; batch < targets.size(); batch += 64) {
      Arrays.fill(mask, 0L);
      int size = Math.min(64, targets.size() - batch);
      for (int k = 0; k < size; k++) {
        mask[index.get(targets.get(batch + k).getKey())] |= 1L << k;
      }
      for (int u : order) {
        if (mask[u] != 0) {
          for (int v : dependents[u]) {
            mask[v] |= mask[u];
          }
        }
      }
      for (int k = 0; k < size; k++) {
        for (Pending p : targets.get(batch + k).getValue()) {
          int s = index.get(p.source);
          if (ordered[s] && (mask[s] & (1L << k)) == 0) {
            report(
                p.site,
                p.ref,
                "step '"
                    + p.source
                    + "' reads '"
                    + p.ref.dotted()
                    + "' but does not need '"
                    + p.target
                    + "' (add it to 'needs')");
          }
        }
      }
    }
  }

  /** Kahn's algorithm over need -> dependent edges; steps on or after a cycle are left out. */
  private static int[] topologicalOrder(int[][] dependents) {
    int n = dependents.length;
    int[] waiting = new int[n];
    for (int[] ds : dependents) {
      for (int v : ds) {
        waiting[v]++;
      }
    }
    int[] order = new int[n];
    int head = 0;
    int tail = 0;
    for (int v = 0; v < n; v++) {
      if (waiting[v] == 0) {
        order[tail++] = v;
      }
    }
    while (head < tail) {
      for (int v : dependents[order[head++]]) {
        if (--waiting[v] == 0) {
          order[tail++] = v;
        }
      }
    }
    return Arrays.copyOf(order, tail);
  }

  private static int[][] dependents(Map<String, List<String>> needs, Map<String, Integer> index) {
    int n = index.size();
    int[] count = new int[n];
    for (List<String> ns : needs.values()) {
      for (String need : ns) {
        count[index.get(need)]++;
      }
    }
    int[][] out = new int[n][];
    for (int i = 0; i < n; i++) {
      out[i] = new int[count[i]];
      count[i] = 0;
    }
    for (Map.Entry<String, List<String>> e : needs.entrySet()) {
      int dependent = index.get(e.getKey());
      for (String need : e.getValue()) {
        int j = index.get(need);
        out[j][count[j]++] = dependent;
      }
    }
    return out;
  }

  /** Locates the reference inside its string only now: valid files never pay for it. */
  private void report(Site site, Expr.Ref ref, String message) {
    problems.add(sourceMap.locate(site.node, ref.column()), message);
  }
}
