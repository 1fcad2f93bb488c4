package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Defaults;
import dev.kiln.dsl.model.Hook;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code on_failure:} and {@code on_success:} sections: steps bound like any other, run once
 * the other steps have settled. Their ids share one namespace with {@code steps:}; a hook's {@code
 * needs:} names hooks of its own section only, and no ordinary step may need a hook.
 */
final class HookCheck {
  private HookCheck() {}

  /** Binds both sections, appending their steps to {@code drafts}; returns each hook's kind. */
  static Map<String, Hook> bind(
      YNode.Mapping root,
      List<StepBinder.StepDraft> drafts,
      Fields f,
      ExpressionCheck exprs,
      Catalogue builtins,
      Defaults defaults) {
    Map<String, Hook> hooks = new LinkedHashMap<>();
    Map<String, String> sectionOf = new HashMap<>();
    for (StepBinder.StepDraft d : drafts) {
      sectionOf.put(d.step().id(), "steps");
    }
    for (Hook kind : Hook.values()) {
      YNode n = root.get(kind.key());
      if (Fields.absent(n)) {
        continue;
      }
      YNode.Mapping section = f.map(n, "'" + kind.key() + "'");
      if (section == null) {
        continue;
      }
      if (section.entries().isEmpty()) {
        f.problems().add(n, "'" + kind.key() + "' is empty: add a step or remove the key");
      }
      for (StepBinder.StepDraft d : StepBinder.bind(section, f, exprs, builtins, defaults)) {
        String id = d.step().id();
        String other = sectionOf.putIfAbsent(id, kind.key());
        if (other != null) {
          f.problems()
              .add(
                  d.key(),
                  "step id '"
                      + id
                      + "' is used in '"
                      + other
                      + "' and '"
                      + kind.key()
                      + "': ids are shared by all sections");
          continue;
        }
        drafts.add(d);
        hooks.put(id, kind);
      }
    }
    return hooks;
  }

  /** Ordinary steps may not need hooks; hooks need only hooks of their own section. */
  static void checkNeeds(
      List<StepBinder.StepDraft> drafts, Map<String, Hook> hooks, Problems problems) {
    Set<String> ids = new HashSet<>();
    drafts.forEach(d -> ids.add(d.step().id()));
    for (StepBinder.StepDraft d : drafts) {
      Hook own = hooks.get(d.step().id());
      for (Map.Entry<String, YNode.Scalar> need : d.needNodes().entrySet()) {
        if (!ids.contains(need.getKey())) {
          continue; // reported by GraphCheck
        }
        Hook target = hooks.get(need.getKey());
        if (own == null && target != null) {
          problems.add(
              need.getValue(),
              "step '"
                  + d.step().id()
                  + "' needs '"
                  + need.getKey()
                  + "', an "
                  + target.key()
                  + " step: hooks run after every other step, so nothing can need them");
        } else if (own != null && target != own) {
          problems.add(
              need.getValue(),
              own.key()
                  + " step '"
                  + d.step().id()
                  + "' needs '"
                  + need.getKey()
                  + "': a hook may need only other "
                  + own.key()
                  + " steps (it runs after all the others and can read any of them)");
        }
      }
    }
  }

  /**
   * The needs for the expression check: a hook may read every ordinary step, as all have settled
   * when it runs.
   */
  static Map<String, List<String>> readable(
      Map<String, List<String>> needs, Map<String, Hook> hooks) {
    if (hooks.isEmpty()) {
      return needs;
    }
    List<String> ordinary = needs.keySet().stream().filter(id -> !hooks.containsKey(id)).toList();
    Map<String, List<String>> out = new LinkedHashMap<>(needs);
    for (String hook : hooks.keySet()) {
      List<String> all = new ArrayList<>(needs.getOrDefault(hook, List.of()));
      all.addAll(ordinary);
      out.put(hook, all);
    }
    return out;
  }
}
