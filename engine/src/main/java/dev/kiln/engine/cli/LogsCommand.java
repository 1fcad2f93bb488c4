package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.LogLine;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = {
      "Print what a run's steps printed (stdout and stderr), in order.",
      "--follow keeps printing new lines until the run has ended."
    })
final class LogsCommand implements Callable<Integer> {
  /** How often --follow looks for new lines. */
  static final Duration POLL = Duration.ofMillis(250);

  /**
   * Lines get their ids when written but become visible when their transaction commits, so a line
   * with a smaller id can appear after a larger one; --follow looks this far back.
   */
  static final Duration LATE_COMMIT = Duration.ofSeconds(5);

  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "STEP",
      description = "only this step (all tasks of a matrix step), or one task: 'train[lr=0.1]'")
  String step;

  @Option(
      names = {"-f", "--follow"},
      description = "keep printing new lines until the run ends")
  boolean follow;

  @Override
  public Integer call() throws InterruptedException {
    KilnConfig config = KilnConfig.fromEnvironment();
    // A follower outlives a restart of the store: the pool reconnects, one connection would not.
    try (Engine engine = follow ? Engine.open(config, 2) : Engine.forCommand(config)) {
      if (engine.store().run(runId).isEmpty()) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      }
      if (!follow) {
        if (step != null && tasks(engine).isEmpty()) {
          throw new UserError("run " + runId + " has no step '" + step + "' that started");
        }
        boolean oneTask = oneTask(engine);
        engine.store().logs(runId, step).forEach(l -> print(l, oneTask));
        return Main.OK;
      }
      return follow(engine);
    }
  }

  private int follow(Engine engine) throws InterruptedException {
    long safe = 0;
    Set<Long> printed = new HashSet<>();
    while (true) {
      // Whether the run had ended is read before the lines, so the last read sees every line.
      boolean ended = engine.store().ended(runId);
      boolean oneTask = oneTask(engine);
      long newSafe = safe;
      Instant settled = Instant.now().minus(LATE_COMMIT);
      for (LogLine l : engine.store().logs(runId, step, safe)) {
        if (printed.add(l.id())) {
          print(l, oneTask);
        }
        if (l.at() != null && l.at().isBefore(settled)) {
          newSafe = Math.max(newSafe, l.id());
        }
      }
      long floor = newSafe;
      printed.removeIf(id -> id <= floor);
      safe = newSafe;
      if (ended) {
        if (step != null && tasks(engine).isEmpty()) {
          throw new UserError("run " + runId + " ended; its step '" + step + "' never started");
        }
        return Main.OK;
      }
      Thread.sleep(POLL.toMillis());
    }
  }

  /** The run's tasks STEP names: a matrix step's id names all its tasks (step[k=v,...]). */
  private List<String> tasks(Engine engine) {
    return engine.store().tasks(runId).stream()
        .map(t -> t.stepId())
        .filter(t -> step == null || t.equals(step) || t.startsWith(step + "["))
        .toList();
  }

  /** Lines of a single task need no prefix saying whose they are. */
  private boolean oneTask(Engine engine) {
    return step != null && tasks(engine).equals(List.of(step));
  }

  private static void print(LogLine l, boolean oneTask) {
    String prefix = oneTask ? "" : "[" + l.stepId() + "] ";
    System.out.println(prefix + (l.stream().equals("system") ? "# " : "") + l.line());
  }
}
