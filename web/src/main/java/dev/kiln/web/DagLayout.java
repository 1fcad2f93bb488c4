package dev.kiln.web;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A layered drawing of a pipeline's DAG, computed once per pipeline version: each step's layer is
 * its longest path from a root, steps within a layer are ordered by the barycenter of their
 * neighbours (a few sweeps down and up, to uncross edges), and the edges are drawn once into one
 * SVG path. A run's page then only adds its statuses, so a 2,000-step run costs string building,
 * not layout, and the browser gets plain SVG with no layout script.
 */
final class DagLayout {
  static final int NODE_W = 168;
  static final int NODE_H = 26;
  static final int GAP_X = 56;
  static final int GAP_Y = 10;
  static final int PAD = 8;
  private static final int SWEEPS = 4;

  record Node(String id, int x, int y) {}

  private final List<Node> nodes;
  private final String edgePath;
  private final int width;
  private final int height;

  private DagLayout(List<Node> nodes, String edgePath, int width, int height) {
    this.nodes = nodes;
    this.edgePath = edgePath;
    this.width = width;
    this.height = height;
  }

  /**
   * {@code order} lists the steps in a topological order; {@code needs} gives each step's
   * dependencies (all of them in {@code order}).
   */
  static DagLayout of(List<String> order, Map<String, List<String>> needs) {
    Map<String, Integer> layer = new HashMap<>();
    Map<String, List<String>> dependents = new HashMap<>();
    int layers = 0;
    for (String id : order) {
      int l = 0;
      for (String n : needs.getOrDefault(id, List.of())) {
        l = Math.max(l, layer.get(n) + 1);
        dependents.computeIfAbsent(n, k -> new ArrayList<>()).add(id);
      }
      layer.put(id, l);
      layers = Math.max(layers, l + 1);
    }
    List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      rows.add(new ArrayList<>());
    }
    for (String id : order) {
      rows.get(layer.get(id)).add(id);
    }
    Map<String, Double> pos = new HashMap<>();
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) {
        pos.put(row.get(i), (double) i);
      }
    }
    for (int sweep = 0; sweep < SWEEPS; sweep++) {
      boolean down = sweep % 2 == 0;
      for (int k = 1; k < layers; k++) {
        List<String> row = rows.get(down ? k : layers - 1 - k);
        Map<String, List<String>> side = down ? needs : dependents;
        Map<String, Double> bary = new HashMap<>();
        for (String id : row) {
          List<String> ns = side.getOrDefault(id, List.of());
          bary.put(
              id,
              ns.isEmpty()
                  ? pos.get(id)
                  : ns.stream().mapToDouble(pos::get).average().orElse(pos.get(id)));
        }
        row.sort(Comparator.comparingDouble(bary::get));
        for (int i = 0; i < row.size(); i++) {
          pos.put(row.get(i), (double) i);
        }
      }
    }
    int tallest = rows.stream().mapToInt(List::size).max().orElse(0);
    int height = PAD * 2 + tallest * (NODE_H + GAP_Y);
    Map<String, Node> placed = new HashMap<>();
    List<Node> nodes = new ArrayList<>(order.size());
    for (int l = 0; l < layers; l++) {
      List<String> row = rows.get(l);
      // Each layer is centred vertically, so a narrow layer sits in the middle of a wide one.
      int top = PAD + (tallest - row.size()) * (NODE_H + GAP_Y) / 2;
      for (int i = 0; i < row.size(); i++) {
        Node n = new Node(row.get(i), PAD + l * (NODE_W + GAP_X), top + i * (NODE_H + GAP_Y));
        placed.put(n.id(), n);
        nodes.add(n);
      }
    }
    StringBuilder d = new StringBuilder();
    for (String id : order) {
      Node to = placed.get(id);
      for (String n : needs.getOrDefault(id, List.of())) {
        Node from = placed.get(n);
        int x1 = from.x() + NODE_W;
        int y1 = from.y() + NODE_H / 2;
        int x2 = to.x();
        int y2 = to.y() + NODE_H / 2;
        int mid = (x1 + x2) / 2;
        d.append('M')
            .append(x1)
            .append(' ')
            .append(y1)
            .append('C')
            .append(mid)
            .append(' ')
            .append(y1)
            .append(' ')
            .append(mid)
            .append(' ')
            .append(y2)
            .append(' ')
            .append(x2)
            .append(' ')
            .append(y2);
      }
    }
    int width = PAD * 2 + Math.max(1, layers) * (NODE_W + GAP_X) - GAP_X;
    return new DagLayout(
        List.copyOf(nodes), d.toString(), width, Math.max(height, NODE_H + 2 * PAD));
  }

  /** What a node shows: its status (a CSS class) and a label under the step's name. */
  record NodeState(String status, String note) {}

  /**
   * The SVG of this layout with each step's state; every name is escaped. A node is {@code <g
   * class="node st-STATUS" data-step="ID">}, so the page's script can recolour it live.
   */
  String svg(Map<String, NodeState> states, String linkPrefix) {
    StringBuilder b = new StringBuilder(256 + nodes.size() * 300);
    Html.svgStart(b, "dag", width, height)
        .append("<path class=\"edges\" d=\"")
        .append(edgePath)
        .append("\"/>");
    for (Node n : nodes) {
      NodeState st = states.getOrDefault(n.id(), new NodeState("pending", ""));
      String label = n.id().length() > 22 ? n.id().substring(0, 21) + "…" : n.id();
      b.append("<a href=\"")
          .append(Html.escape(linkPrefix + Html.query(n.id())))
          .append("\"><g class=\"node st-")
          .append(Html.escape(st.status()))
          .append("\" data-step=\"")
          .append(Html.escape(n.id()))
          .append("\" transform=\"translate(")
          .append(n.x())
          .append(',')
          .append(n.y())
          .append(")\"><title>")
          .append(Html.escape(n.id()))
          .append(' ')
          .append(Html.escape(st.status()))
          .append("</title><rect width=\"")
          .append(NODE_W)
          .append("\" height=\"")
          .append(NODE_H)
          .append("\" rx=\"5\"/><text x=\"8\" y=\"17\">")
          .append(Html.escape(label));
      if (!st.note().isEmpty()) {
        b.append(" <tspan class=\"note\">").append(Html.escape(st.note())).append("</tspan>");
      }
      b.append("</text></g></a>");
    }
    return b.append("</svg>").toString();
  }

  int size() {
    return nodes.size();
  }
}
