package dev.kiln.web;

import dev.kiln.engine.registry.DatasetVersion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lineage as the registry records it, drawn by the server as SVG in three columns: dataset versions
 * -> the runs that read them -> the model versions those runs registered. Every node links to its
 * page. Columns are cut at {@link #MAX_PER_COLUMN} nodes (the cut is said under the graph).
 */
final class LineageGraph {
  static final int MAX_PER_COLUMN = 200;
  private static final int NODE_W = 220;
  private static final int NODE_H = 38;
  private static final int GAP_X = 90;
  private static final int GAP_Y = 10;
  private static final int PAD = 10;
  private static final String[] HEADINGS = {"dataset versions", "runs", "model versions"};

  private record Node(String key, String label, String sub, String href, String kind) {}

  private final List<Map<String, Node>> columns =
      List.of(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
  private final Set<List<String>> edges = new LinkedHashSet<>();
  private boolean cut;

  String dataset(DatasetVersion d) {
    return add(
        0,
        new Node(
            "d:" + d.ref(),
            d.ref(),
            d.rows() == null ? d.sha256().substring(0, 12) : d.rows() + " rows",
            "/datasets/" + Html.query(d.name()) + "?version=" + d.version(),
            "dataset"));
  }

  String run(long id, String pipeline) {
    return add(
        1,
        new Node("r:" + id, "run #" + id, pipeline == null ? "" : pipeline, "/runs/" + id, "run"));
  }

  String model(String name, int version) {
    return add(
        2,
        new Node(
            "m:" + name + "@" + version,
            name + " v" + version,
            "",
            "/models/" + Html.query(name) + "#v" + version,
            "model"));
  }

  /** An edge between two nodes added before (a node cut from its column takes its edges along). */
  void edge(String from, String to) {
    if (from != null && to != null) {
      edges.add(List.of(from, to));
    }
  }

  boolean isEmpty() {
    return columns.stream().allMatch(Map::isEmpty);
  }

  private String add(int column, Node n) {
    Map<String, Node> c = columns.get(column);
    if (!c.containsKey(n.key()) && c.size() >= MAX_PER_COLUMN) {
      cut = true;
      return null;
    }
    c.putIfAbsent(n.key(), n);
    return n.key();
  }

  String svg() {
    Map<String, int[]> at = new LinkedHashMap<>();
    int rows = 0;
    for (int c = 0; c < columns.size(); c++) {
      int r = 0;
      for (String key : columns.get(c).keySet()) {
        at.put(key, new int[] {PAD + c * (NODE_W + GAP_X), PAD + 20 + r * (NODE_H + GAP_Y)});
        r++;
      }
      rows = Math.max(rows, r);
    }
    int width = PAD * 2 + 3 * NODE_W + 2 * GAP_X;
    int height = PAD * 2 + 20 + Math.max(1, rows) * (NODE_H + GAP_Y);
    StringBuilder b = new StringBuilder(512 + at.size() * 400);
    Html.svgStart(b, "lineage", width, height);
    for (int c = 0; c < HEADINGS.length; c++) {
      b.append("<text class=\"heading\" x=\"")
          .append(PAD + c * (NODE_W + GAP_X))
          .append("\" y=\"")
          .append(PAD + 10)
          .append("\">")
          .append(HEADINGS[c])
          .append("</text>");
    }
    StringBuilder path = new StringBuilder();
    for (List<String> e : edges) {
      int[] a = at.get(e.get(0));
      int[] z = at.get(e.get(1));
      if (a == null || z == null) {
        continue;
      }
      int x1 = a[0] + NODE_W;
      int y1 = a[1] + NODE_H / 2;
      int x2 = z[0];
      int y2 = z[1] + NODE_H / 2;
      int mid = (x1 + x2) / 2;
      path.append("M")
          .append(x1)
          .append(',')
          .append(y1)
          .append("C")
          .append(mid)
          .append(',')
          .append(y1)
          .append(' ')
          .append(mid)
          .append(',')
          .append(y2)
          .append(' ')
          .append(x2)
          .append(',')
          .append(y2);
    }
    b.append("<path class=\"edges\" d=\"").append(path).append("\"/>");
    for (Map<String, Node> column : columns) {
      for (Node n : column.values()) {
        int[] p = at.get(n.key());
        b.append("<a href=\"")
            .append(Html.escape(n.href()))
            .append("\"><g class=\"node ")
            .append(n.kind())
            .append("\" data-node=\"")
            .append(Html.escape(n.key()))
            .append("\" transform=\"translate(")
            .append(p[0])
            .append(',')
            .append(p[1])
            .append(")\"><title>")
            .append(Html.escape(n.label()))
            .append("</title><rect width=\"")
            .append(NODE_W)
            .append("\" height=\"")
            .append(NODE_H)
            .append("\" rx=\"5\"/><text x=\"8\" y=\"15\">")
            .append(Html.escape(shorten(n.label(), 28)))
            .append("</text><text class=\"sub\" x=\"8\" y=\"31\">")
            .append(Html.escape(shorten(n.sub(), 30)))
            .append("</text></g></a>");
      }
    }
    return b.append("</svg>").toString();
  }

  /** Whether a column was cut at {@link #MAX_PER_COLUMN} nodes. */
  boolean cut() {
    return cut;
  }

  private static String shorten(String s, int max) {
    return s.length() > max ? s.substring(0, max - 1) + "…" : s;
  }

  /** The nodes of a column, for tests: their keys in order. */
  List<String> column(int c) {
    return new ArrayList<>(columns.get(c).keySet());
  }
}
