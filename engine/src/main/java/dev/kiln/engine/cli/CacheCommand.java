package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.store.CacheEntries;
import dev.kiln.engine.store.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "cache",
    mixinStandardHelpOptions = true,
    description = {
      "The step cache: results later runs take for 'cache: true' steps.",
      "A step whose inputs hash the same takes the result instead of running (see",
      "docs/dsl.md). 'kiln run --no-cache' bypasses the cache for one run."
    },
    subcommands = {CacheCommand.ListEntries.class, CacheCommand.Clear.class})
final class CacheCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List cache entries, newest first.")
  static final class ListEntries implements Callable<Integer> {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "PIPELINE",
        description = "only this pipeline's entries")
    String pipeline;

    @Option(names = "--json", description = "print the entries as a JSON array")
    boolean json;

    @Override
    public Integer call() {
      try (Engine e = ModelsCommand.open()) {
        List<CacheEntries.Entry> entries = e.cache().list(pipeline);
        if (json) {
          List<Map<String, Object>> out = new ArrayList<>();
          for (var en : entries) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pipeline", en.pipeline());
            m.put("step", en.stepId());
            m.put("run_id", en.runId());
            m.put("finished_at", en.finishedAt() == null ? null : en.finishedAt().toString());
            m.put("key", en.key());
            out.add(m);
          }
          System.out.println(Json.write(out));
          return Main.OK;
        }
        if (entries.isEmpty()) {
          System.out.println(
              "no cache entries"
                  + (pipeline == null ? "" : " for " + pipeline)
                  + ": a step with 'cache: true' adds one when it succeeds");
          return Main.OK;
        }
        System.out.printf(
            "%-24s %-20s %-7s %-20s %s%n", "PIPELINE", "STEP", "RUN", "FINISHED", "KEY");
        for (var en : entries) {
          System.out.printf(
              "%-24s %-20s %-7d %-20s %s%n",
              en.pipeline(),
              en.stepId(),
              en.runId(),
              en.finishedAt() == null ? "-" : ModelsCommand.TIME.format(en.finishedAt()),
              Refs.shortSha(en.key()));
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "clear",
      mixinStandardHelpOptions = true,
      description = {
        "Drop cache entries (all, or one pipeline's), so their steps run again.",
        "The runs and their results stay."
      })
  static final class Clear implements Callable<Integer> {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "PIPELINE",
        description = "only this pipeline's entries")
    String pipeline;

    @Override
    public Integer call() {
      try (Engine e = ModelsCommand.open()) {
        int n = e.cache().clear(pipeline);
        System.out.println(
            "dropped "
                + n
                + " cache entr"
                + (n == 1 ? "y" : "ies")
                + (pipeline == null ? "" : " of " + pipeline));
        return Main.OK;
      }
    }
  }
}
