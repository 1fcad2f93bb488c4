package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.RunRecord;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "runs", mixinStandardHelpOptions = true, description = "List recent runs, newest first.")
final class RunsCommand implements Callable<Integer> {
  @Option(names = "--json", description = "print the runs as a JSON array")
  boolean json;

  @Option(names = "--pipeline", paramLabel = "NAME", description = "only runs of this pipeline")
  String pipeline;

  @Option(names = "--limit", defaultValue = "20", description = "how many (default ${DEFAULT-VALUE})")
  int limit;

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  @Override
  public Integer call() {
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      List<RunRecord> runs = engine.store().runs(pipeline, limit);
      if (json) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (RunRecord r : runs) {
          out.add(Summary.map(r, engine.store().tasks(r.id()), null));
        }
        System.out.println(Json.write(out));
        return Main.OK;
      }
      if (runs.isEmpty()) {
        System.out.println("no runs yet: start one with 'kiln run FILE'");
        return Main.OK;
      }
      System.out.printf("%-6s %-24s %-10s %-8s %-19s %s%n", "RUN", "PIPELINE", "STATUS", "TRIGGER",
          "STARTED", "DURATION");
      for (RunRecord r : runs) {
        String dur = r.createdAt() == null || r.finishedAt() == null ? "-"
            : String.format("%.1fs", Duration.between(r.createdAt(), r.finishedAt()).toMillis() / 1000.0);
        System.out.printf("%-6d %-24s %-10s %-8s %-19s %s%n", r.id(), r.pipeline(), r.status().db(),
            r.trigger(), TIME.format(r.createdAt()), dur);
      }
      return Main.OK;
    }
  }
}
