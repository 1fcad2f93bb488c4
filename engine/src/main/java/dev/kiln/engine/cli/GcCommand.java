package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.GarbageCollector;
import dev.kiln.engine.store.Retention;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "gc",
    mixinStandardHelpOptions = true,
    description = {
      "Delete finished runs older than --older-than, with their tasks, attempts, logs,",
      "events, metrics, artifact rows and trigger keys, and the stored artifact content",
      "nothing else names, and served models' logged predictions older than the age.",
      "Runs that made a registered model version or a dataset",
      "version stay, and so do the runs a remaining run retried or took cached results",
      "from. Works in small batches, so it is safe while a server runs.",
      "Prints how many of each kind went (or, with --dry-run, would go)."
    })
final class GcCommand implements Callable<Integer> {
  @Option(
      names = "--older-than",
      required = true,
      paramLabel = "AGE",
      description = "age of a finished run to delete, e.g. 30d, 12h (runs finished before)")
  String olderThan;

  @Option(names = "--dry-run", description = "count what would be deleted; delete nothing")
  boolean dryRun;

  @Override
  public Integer call() {
    Duration age = Durations.parse("--older-than", olderThan);
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      GarbageCollector gc = new GarbageCollector(engine.db(), engine.artifacts());
      Map<String, Long> counts = dryRun ? gc.dryRun(age) : gc.collect(age, System.err::println);
      System.out.println(
          (dryRun ? "would delete (older than " : "deleted (older than ") + olderThan + "):");
      for (String kind : Retention.KINDS) {
        System.out.printf("  %-13s %d%n", kind, counts.getOrDefault(kind, 0L));
      }
      return Main.OK;
    }
  }
}
