package dev.kiln.dsl.dag;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The step graph of a validated pipeline. Immutable; built in O((steps + edges) log steps) and each
 * query costs what it returns.
 */
public final class Dag {
  private final List<String> ids; // file order
  private final Map<String, Integer> index;
  private final List<List<String>> needs;
  private final List<List<String>> dependents;
  private final List<String> order;
  private final List<String> roots;

  private Dag(
      List<String> ids,
      Map<String, Integer> index,
      List<List<String>> needs,
      List<List<String>> dependents,
      List<String> order,
      List<String> roots) {
    this.ids = ids;
    this.index = index;
    this.needs = needs;
    this.dependents = dependents;
    this.order = order;
    this.roots = roots;
  }

  /** The graph of a pipeline that passed validation (every need exists, no cycles). */
  public static Dag of(Pipeline pipeline) {
    int n = pipeline.steps().size();
    List<String> ids = new ArrayList<>(n);
    Map<String, Integer> index = new HashMap<>(n * 2);
    for (String id : pipeline.steps().keySet()) {
      index.put(id, ids.size());
      ids.add(id);
    }
    List<List<String>> needs = new ArrayList<>(n);
    List<List<String>> dependents = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      dependents.add(new ArrayList<>());
    }
    int[] waiting = new int[n];
    for (Step step : pipeline.steps().values()) {
      int i = index.get(step.id());
      needs.add(step.needs());
      for (String need : step.needs()) {
        Integer j = index.get(need);
        if (j == null) {
          throw new IllegalArgumentException(
              "step '" + step.id() + "' needs unknown step '" + need + "'");
        }
        dependents.get(j).add(step.id()); // steps are visited in file order, so this list is too
        waiting[i]++;
      }
    }
    // Kahn's algorithm; the queue hands out the earliest-written ready step first, so the order
    // is stable and reads like the file wherever the graph allows.
    PriorityQueue<Integer> ready = new PriorityQueue<>();
    List<String> roots = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (waiting[i] == 0) {
        ready.add(i);
        roots.add(ids.get(i));
      }
    }
    List<String> order = new ArrayList<>(n);
    while (!ready.isEmpty()) {
      int i = ready.poll();
      order.add(ids.get(i));
      for (String d : dependents.get(i)) {
        int j = index.get(d);
        if (--waiting[j] == 0) {
          ready.add(j);
        }
      }
    }
    if (order.size() != n) {
      throw new IllegalArgumentException("pipeline '" + pipeline.name() + "' has a cycle");
    }
    List<List<String>> frozen = new ArrayList<>(n);
    for (List<String> d : dependents) {
      frozen.add(Collections.unmodifiableList(d));
    }
    return new Dag(
        List.copyOf(ids),
        Collections.unmodifiableMap(index),
        List.copyOf(needs),
        List.copyOf(frozen),
        List.copyOf(order),
        List.copyOf(roots));
  }

  /** Every step, each after all it needs; ties go to the step written first. */
  public List<String> order() {
    return order;
  }

  /** Steps without needs, in file order. */
  public List<String> roots() {
    return roots;
  }

  /** What the step needs, as written. */
  public List<String> needs(String id) {
    return needs.get(at(id));
  }

  /** Steps that need this one, in file order. */
  public List<String> dependents(String id) {
    return dependents.get(at(id));
  }

  /** Everything the step needs, directly or through other steps. */
  public Set<String> ancestors(String id) {
    return walk(id, needs);
  }

  /** Everything that needs the step, directly or through other steps. */
  public Set<String> descendants(String id) {
    return walk(id, dependents);
  }

  public int size() {
    return ids.size();
  }

  public boolean contains(String id) {
    return index.containsKey(id);
  }

  private Set<String> walk(String id, List<List<String>> edges) {
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> stack = new ArrayDeque<>(edges.get(at(id)));
    while (!stack.isEmpty()) {
      String s = stack.pop();
      if (seen.add(s)) {
        stack.addAll(edges.get(index.get(s)));
      }
    }
    return Collections.unmodifiableSet(seen);
  }

  private int at(String id) {
    Integer i = index.get(id);
    if (i == null) {
      throw new IllegalArgumentException("no step '" + id + "'");
    }
    return i;
  }
}
