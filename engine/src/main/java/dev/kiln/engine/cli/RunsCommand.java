package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.Leases;
import dev.kiln.engine.run.ProcessNames;
import dev.kiln.engine.run.Summary;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Runs;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "runs",
    mixinStandardHelpOptions = true,
    description = {
      "List recent runs, newest first.",
      "With --metric, the runs that wrote that metric, best (highest; --lowest: lowest) first."
    },
    subcommands = {RunsShowCommand.class, RunsCompareCommand.class, RunsTagCommand.class})
final class RunsCommand implements Callable<Integer> {
  @Option(names = "--json", description = "print the runs as a JSON array")
  boolean json;

  @Option(names = "--pipeline", paramLabel = "NAME", description = "only runs of this pipeline")
  String pipeline;

  @Option(
      names = "--tag",
      paramLabel = "KEY=VALUE",
      description = "only runs with this tag (repeatable: all of them)")
  List<String> tags = List.of();

  @Option(
      names = "--limit",
      defaultValue = "20",
      description = "how many (default ${DEFAULT-VALUE})")
  int limit;

  @Option(
      names = "--metric",
      paramLabel = "KEY",
      description = "rank runs by this metric (its last value in the run)")
  String metric;

  @Option(
      names = "--top",
      paramLabel = "N",
      description = "with --metric: the best N runs (default: --limit)")
  Integer top;

  @Option(names = "--lowest", description = "with --metric: lowest first (for losses and errors)")
  boolean lowest;

  static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  @Override
  public Integer call() {
    if (metric == null && (top != null || lowest)) {
      throw new UserError(
          (top != null ? "--top" : "--lowest") + " needs --metric: which metric to rank by");
    }
    if (top != null && top < 1) {
      throw new UserError("--top must be at least 1, got " + top);
    }
    try (Engine engine = Engine.forCommand(KilnConfig.fromEnvironment())) {
      if (metric != null) {
        return ranked(engine);
      }
      List<RunRecord> runs = engine.store().runs(pipeline, RunCommand.pairs(tags, "--tag"), limit);
      if (json) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (RunRecord r : runs) {
          out.add(
              Summary.map(
                  r, engine.store().tasks(r.id()), engine.runs().pipeline(r.pipelineVersion())));
        }
        System.out.println(Json.write(out));
        return Main.OK;
      }
      if (runs.isEmpty()) {
        System.out.println(
            pipeline == null && tags.isEmpty()
                ? "no runs yet: start one with 'kiln run FILE'"
                : "no runs match");
        return Main.OK;
      }
      Map<Long, Runs.Abandoned> abandoned = new HashMap<>();
      engine
          .leases()
          .abandoned(
              ProcessNames.deadOnThisHost(engine.leases().drivenRuns().values()),
              Leases.DRIVER_STALE)
          .forEach(a -> abandoned.put(a.runId(), a));
      boolean tagged = runs.stream().anyMatch(r -> !r.tags().isEmpty());
      String row = "%-6s %-24s %-10s %-8s %-19s " + (tagged ? "%-9s %s" : "%s%s") + "%n";
      System.out.printf(
          row, "RUN", "PIPELINE", "STATUS", "TRIGGER", "STARTED", "DURATION", tagged ? "TAGS" : "");
      for (RunRecord r : runs) {
        String dur =
            r.createdAt() == null || r.finishedAt() == null
                ? "-"
                : String.format(
                    "%.1fs", Duration.between(r.createdAt(), r.finishedAt()).toMillis() / 1000.0);
        System.out.printf(
            row,
            r.id(),
            r.pipeline(),
            abandoned.containsKey(r.id()) ? "abandoned" : r.status().db(),
            r.trigger(),
            TIME.format(r.createdAt()),
            dur,
            r.tags().isEmpty() ? "" : Refs.map(r.tags()));
      }
      for (RunRecord r : runs) {
        Runs.Abandoned a = abandoned.get(r.id());
        if (a != null) {
          System.out.printf(
              "run %d is abandoned: its driver %s was last seen %ds ago and no server or worker"
                  + " has taken it over; continue it with 'kiln run --continue %d' or stop it with"
                  + " 'kiln cancel %d'%n",
              r.id(), a.driver(), a.silentSeconds(), r.id(), r.id());
        }
      }
      return Main.OK;
    }
  }

  private int ranked(Engine engine) {
    var rows = engine.experiments().top(pipeline, metric, top == null ? limit : top, lowest);
    if (json) {
      List<Map<String, Object>> out = new ArrayList<>();
      for (var r : rows) {
        out.add(
            Map.of(
                "run_id",
                r.runId(),
                "pipeline",
                r.pipeline(),
                "status",
                r.status(),
                "metric",
                metric,
                "value",
                r.value()));
      }
      System.out.println(Json.write(out));
      return Main.OK;
    }
    if (rows.isEmpty()) {
      System.out.println(
          "no run"
              + (pipeline == null ? "" : " of " + pipeline)
              + " wrote metric '"
              + metric
              + "'");
      return Main.OK;
    }
    System.out.printf(
        "%-6s %-24s %-10s %s%n", "RUN", "PIPELINE", "STATUS", metric.toUpperCase(Locale.ROOT));
    for (var r : rows) {
      System.out.printf(
          "%-6d %-24s %-10s %s%n", r.runId(), r.pipeline(), r.status(), Refs.number(r.value()));
    }
    return Main.OK;
  }
}
