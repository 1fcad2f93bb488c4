package dev.kiln.dsl.parse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code needs} must name steps and must not form cycles. Linear in steps plus edges. */
final class GraphCheck {
  private GraphCheck() {}

  /**
   * The needs that name real steps, by step id in file order; problems for the rest and for cycles.
   */
  static Map<String, List<String>> check(List<StepBinder.StepDraft> drafts, Problems problems) {
    Map<String, Integer> index = new HashMap<>(drafts.size() * 2);
    for (StepBinder.StepDraft d : drafts) {
      index.put(d.step().id(), index.size());
    }
    Map<String, List<String>> needs = new LinkedHashMap<>();
    int[][] adjacency = new int[drafts.size()][];
    for (int i = 0; i < drafts.size(); i++) {
      StepBinder.StepDraft d = drafts.get(i);
      List<String> known = new ArrayList<>(d.needNodes().size());
      int[] edges = new int[d.needNodes().size()];
      for (YNode.Scalar n : d.needNodes().values()) {
        Integer j = index.get(n.text());
        if (j != null) {
          edges[known.size()] = j;
          known.add(n.text());
        } else {
          problems.add(
              n,
              "needs unknown step '" + n.text() + "'" + problems.suggest(n.text(), index.keySet()));
        }
      }
      needs.put(d.step().id(), known);
      adjacency[i] = known.size() == edges.length ? edges : Arrays.copyOf(edges, known.size());
    }
    reportCycles(drafts, adjacency, problems);
    return needs;
  }

  /**
   * Depth-first search without recursion (a 10,000-step chain would overflow the stack). Every back
   * edge closes one cycle, reported once, starting at its earliest step in the file and reading "a
   * -> b" as "a needs b".
   */
  private static void reportCycles(
      List<StepBinder.StepDraft> drafts, int[][] adjacency, Problems problems) {
    int n = adjacency.length;
    byte[] state = new byte[n]; // 0 unvisited, 1 on the current path, 2 done
    int[] stack = new int[n];
    int[] nextEdge = new int[n];
    int[] positionOnStack = new int[n];
    for (int start = 0; start < n; start++) {
      if (state[start] != 0) {
        continue;
      }
      int depth = 0;
      stack[depth++] = start;
      state[start] = 1;
      positionOnStack[start] = 0;
      while (depth > 0) {
        int u = stack[depth - 1];
        if (nextEdge[u] < adjacency[u].length) {
          int v = adjacency[u][nextEdge[u]++];
          if (state[v] == 0) {
            state[v] = 1;
            positionOnStack[v] = depth;
            stack[depth++] = v;
          } else if (state[v] == 1) {
            report(drafts, stack, positionOnStack[v], depth, problems);
          }
        } else {
          state[u] = 2;
          depth--;
        }
      }
    }
  }

  private static void report(
      List<StepBinder.StepDraft> drafts, int[] stack, int from, int to, Problems problems) {
    int earliest = from;
    for (int i = from; i < to; i++) {
      if (stack[i] < stack[earliest]) {
        earliest = i;
      }
    }
    List<String> cycle = new ArrayList<>();
    for (int i = 0; i <= to - from; i++) {
      cycle.add(drafts.get(stack[from + (earliest - from + i) % (to - from)]).step().id());
    }
    StepBinder.StepDraft first = drafts.get(stack[earliest]);
    YNode.Scalar edge = first.needNodes().get(cycle.get(1));
    problems.add(edge != null ? edge : first.key(), "cycle: " + String.join(" -> ", cycle));
  }
}
