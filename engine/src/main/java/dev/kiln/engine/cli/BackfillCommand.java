package dev.kiln.engine.cli;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.RunStore.StoredPipeline;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.trigger.CronScheduler;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "backfill",
    mixinStandardHelpOptions = true,
    description = {
      "Create the runs a pipeline's cron triggers would have made in a window.",
      "Each firing time in [--from, --to] becomes a run with run.scheduled_at set",
      "to it, at most --parallel active at once. A firing that already has a run",
      "(made by the schedule or an earlier backfill) is not run again.",
      "Times: 2026-11-01T03:00:00Z, 2026-11-01T03:00 (UTC) or 2026-11-01 (midnight UTC).",
      "Exit 0 when every run succeeded, 1 when one did not, 2 for bad input."
    })
final class BackfillCommand implements Callable<Integer> {
  private static final int MAX_RUNS = 10_000;

  @Parameters(
      index = "0",
      paramLabel = "PIPELINE",
      description = "a pipeline file, or the name of a pipeline already stored")
  String pipeline;

  @Option(
      names = "--from",
      required = true,
      paramLabel = "TIME",
      description = "window start (inclusive)")
  String from;

  @Option(
      names = "--to",
      required = true,
      paramLabel = "TIME",
      description = "window end (inclusive)")
  String to;

  @Option(
      names = "--parallel",
      defaultValue = "1",
      description = "runs active at once (default ${DEFAULT-VALUE})")
  int parallel;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description =
          "in-process worker slots; 0 leaves the steps to other workers (default ${DEFAULT-VALUE})")
  int slots;

  @Override
  public Integer call() throws Exception {
    Instant start = time("--from", from);
    Instant end = time("--to", to);
    if (end.isBefore(start)) {
      throw new UserError("--to " + to + " is before --from " + from);
    }
    if (parallel < 1) {
      throw new UserError("--parallel must be at least 1, got " + parallel);
    }
    if (slots < 0) {
      throw new UserError("--slots must be 0 or more, got " + slots);
    }
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 4)) {
      Pipeline p = load(engine);
      List<Firing> firings = firings(p, start, end);
      if (firings.isEmpty()) {
        System.out.println("no firings of " + p.name() + " between " + start + " and " + end);
        return Main.OK;
      }
      Map<String, Object> params;
      try {
        params = TriggerParams.fromJson(p, null);
      } catch (InvalidRequest e) {
        throw new UserError(p.name() + ": " + e.getMessage());
      }
      WorkerRuntime.Handle workers = slots == 0 ? null : startWorkers(engine, p);
      try {
        return backfill(engine, p, params, firings);
      } finally {
        if (workers != null) {
          workers.close();
        }
      }
    }
  }

  record Firing(int index, Instant at) {}

  private int backfill(Engine engine, Pipeline p, Map<String, Object> params, List<Firing> firings)
      throws InterruptedException {
    RunStarter starter = new RunStarter(engine.db(), engine.runs());
    String baseDir = Path.of("").toAbsolutePath().toString();
    List<Long> active = new ArrayList<>();
    int failed = 0;
    int next = 0;
    while (next < firings.size() || !active.isEmpty()) {
      for (Long id : List.copyOf(active)) {
        RunStatus st = engine.store().run(id).orElseThrow().status();
        if (st.terminal()) {
          active.remove(id);
          failed += st == RunStatus.SUCCEEDED ? 0 : 1;
          System.out.println("run " + id + " " + st.db());
        }
      }
      while (active.size() < parallel && next < firings.size()) {
        Firing f = firings.get(next++);
        String key = "cron:" + p.name() + ":" + f.index() + ":" + f.at().toEpochMilli();
        var outcome =
            (RunStarter.Outcome.Started)
                starter.start(
                    new RunStarter.Request(p, params, "backfill", baseDir, f.at(), key),
                    false,
                    null);
        if (outcome.created()) {
          active.add(outcome.runId());
          System.out.println("run " + outcome.runId() + " for " + f.at());
        } else {
          System.out.println(
              "run " + outcome.runId() + " for " + f.at() + " exists; not run again");
        }
      }
      if (!active.isEmpty()) {
        Thread.sleep(100); // a progress poll, not synchronisation: the loop re-reads the store
      }
    }
    return failed == 0 ? Main.OK : Main.FAILED;
  }

  private Pipeline load(Engine engine) {
    Path file = Path.of(pipeline);
    if (Files.isRegularFile(file)) {
      ParseResult parsed = PipelineParser.parse(file, BuiltinStep.catalogue());
      if (!parsed.ok()) {
        parsed.problems().forEach(System.err::println);
        throw new UserError(file + " is invalid");
      }
      return parsed.pipeline();
    }
    StoredPipeline row = engine.store().latestPipeline(pipeline).orElse(null);
    if (row == null) {
      throw new UserError("no pipeline file or stored pipeline named '" + pipeline + "'");
    }
    ParseResult parsed =
        PipelineParser.parse(row.file() == null ? pipeline : row.file(), row.source());
    if (!parsed.ok()) {
      throw new UserError("stored pipeline '" + pipeline + "' no longer parses");
    }
    return parsed.pipeline();
  }

  private static List<Firing> firings(Pipeline p, Instant start, Instant end) {
    List<Firing> out = new ArrayList<>();
    int index = 0;
    for (Trigger t : p.triggers()) {
      if (t instanceof Trigger.Cron c) {
        for (Instant at : CronScheduler.fireTimes(c, start, end, MAX_RUNS)) {
          out.add(new Firing(index, at));
        }
        index++;
      }
    }
    if (index == 0) {
      throw new UserError("pipeline '" + p.name() + "' has no cron trigger to backfill");
    }
    if (out.size() > MAX_RUNS) {
      throw new UserError("the window holds more than " + MAX_RUNS + " firings; narrow it");
    }
    out.sort(Comparator.comparing(Firing::at).thenComparing(Firing::index));
    return out;
  }

  private WorkerRuntime.Handle startWorkers(Engine engine, Pipeline p) {
    Set<String> queues = new LinkedHashSet<>();
    queues.add("default");
    p.steps().values().forEach(s -> queues.add(s.queueOr(p.defaults())));
    return WorkerRuntime.load()
        .start(
            engine,
            new WorkerRuntime.Options(
                "backfill-" + ManagementFactory.getRuntimeMXBean().getName(),
                List.copyOf(queues),
                slots,
                Duration.ofSeconds(30),
                null));
  }

  static Instant time(String option, String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      // fall through to the zone-less forms
    }
    try {
      return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      // fall through
    }
    try {
      return LocalDate.parse(text).atStartOfDay().toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new UserError(
          option
              + ": cannot read '"
              + text
              + "' as a time (2026-11-01T03:00:00Z, 2026-11-01T03:00 or 2026-11-01)");
    }
  }
}
