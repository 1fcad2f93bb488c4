package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.run.Summary;
import dev.kiln.engine.store.RunRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description = {
      "Print runs' params, tags and metrics side by side (a metric's last value",
      "in the run; '-' where a run has none)."
    })
final class RunsCompareCommand implements Callable<Integer> {
  @Parameters(arity = "2..*", paramLabel = "RUN", description = "two or more run ids")
  List<Long> runIds;

  @Override
  public Integer call() {
    try (Engine e = ModelsCommand.open()) {
      List<RunRecord> runs = new ArrayList<>();
      List<Map<String, Double>> metrics = new ArrayList<>();
      for (long id : runIds) {
        runs.add(
            e.store()
                .run(id)
                .orElseThrow(() -> new UserError("no run " + id + " (see 'kiln runs')")));
        metrics.add(e.models().runMetrics(id));
      }
      int width = 14;
      StringBuilder head = new StringBuilder(String.format("%-28s", ""));
      for (RunRecord r : runs) {
        head.append(String.format(" %-" + width + "s", "run " + r.id()));
      }
      System.out.println(head.toString().stripTrailing());
      row("pipeline", runs.stream().map(RunRecord::pipeline).toList(), width);
      row("status", runs.stream().map(r -> r.status().db()).toList(), width);
      TreeSet<String> params = new TreeSet<>();
      List<Map<String, Object>> shown = new ArrayList<>();
      for (RunRecord r : runs) {
        shown.add(Summary.params(r, e.runs().pipeline(r.pipelineVersion())));
      }
      shown.forEach(m -> params.addAll(m.keySet()));
      for (String k : params) {
        row(
            "param " + k,
            shown.stream().map(m -> m.containsKey(k) ? String.valueOf(m.get(k)) : "-").toList(),
            width);
      }
      List<Map<String, String>> tags =
          runs.stream().map(r -> e.experiments().tags(r.id())).toList();
      TreeSet<String> tagKeys = new TreeSet<>();
      tags.forEach(t -> tagKeys.addAll(t.keySet()));
      for (String k : tagKeys) {
        row("tag " + k, tags.stream().map(t -> t.getOrDefault(k, "-")).toList(), width);
      }
      TreeSet<String> keys = new TreeSet<>();
      metrics.forEach(m -> keys.addAll(m.keySet()));
      for (String k : keys) {
        row(
            "metric " + k,
            metrics.stream().map(m -> m.containsKey(k) ? Refs.number(m.get(k)) : "-").toList(),
            width);
      }
      return Main.OK;
    }
  }

  private static void row(String label, List<String> cells, int width) {
    StringBuilder sb = new StringBuilder(String.format("%-28s", label));
    for (String c : cells) {
      sb.append(String.format(" %-" + width + "s", c));
    }
    System.out.println(sb.toString().stripTrailing());
  }
}
