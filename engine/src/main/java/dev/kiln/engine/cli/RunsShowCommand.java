package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.run.Summary;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    description = {
      "Print one run: its status, params and tags, and every task with its status,",
      "attempts, duration and what went wrong."
    })
final class RunsShowCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Option(names = "--json", description = "print the run summary (as 'kiln run --json' does)")
  boolean json;

  @Override
  public Integer call() {
    try (Engine e = ModelsCommand.open()) {
      RunRecord run =
          e.store()
              .run(runId)
              .orElseThrow(() -> new UserError("no run " + runId + " (see 'kiln runs')"));
      List<TaskRecord> tasks = e.store().tasks(runId);
      if (json) {
        System.out.println(Summary.json(run, tasks, e.runs().pipeline(run.pipelineVersion())));
        return Main.OK;
      }
      System.out.println(
          "run "
              + run.id()
              + " of "
              + run.pipeline()
              + ": "
              + run.status().db()
              + " ("
              + run.trigger()
              + (run.retryOf() == null ? "" : ", retry of run " + run.retryOf())
              + ", started "
              + RunsCommand.TIME.format(run.createdAt())
              + ", "
              + duration(run.createdAt(), run.finishedAt())
              + ")");
      System.out.println(
          "params: " + Refs.map(Summary.params(run, e.runs().pipeline(run.pipelineVersion()))));
      if (!run.tags().isEmpty()) {
        System.out.println("tags: " + Refs.map(run.tags()));
      }
      int width = Math.max(4, tasks.stream().mapToInt(t -> t.stepId().length()).max().orElse(4));
      String row = "%-" + width + "s  %-9s  %8s  %8s  %s";
      System.out.println(
          String.format(row, "TASK", "STATUS", "ATTEMPTS", "DURATION", "NOTE").stripTrailing());
      for (TaskRecord t : tasks) {
        System.out.println(
            String.format(
                    row,
                    t.stepId(),
                    t.status().db(),
                    t.attempt(),
                    duration(t.startedAt(), t.finishedAt()),
                    note(t))
                .stripTrailing());
      }
      return Main.OK;
    }
  }

  private static String note(TaskRecord t) {
    if (t.cached()) {
      return "cached";
    }
    if (t.reusedFrom() != null) {
      return "reused from the retried run";
    }
    return t.error() == null ? "" : t.error();
  }

  private static String duration(Instant from, Instant to) {
    if (from == null) {
      return "-";
    }
    Duration d = Duration.between(from, to == null ? Instant.now() : to);
    return String.format("%.1fs", d.toMillis() / 1000.0) + (to == null ? "+" : "");
  }
}
