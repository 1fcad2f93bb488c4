package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.LogLine;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "logs", mixinStandardHelpOptions = true,
    description = "Print what a run's steps printed (stdout and stderr), in order.")
final class LogsCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN") long runId;

  @Parameters(index = "1", arity = "0..1", paramLabel = "STEP",
      description = "only this step (all tasks of a matrix step), or one task: 'train[lr=0.1]'")
  String step;

  @Override
  public Integer call() {
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      if (engine.store().run(runId).isEmpty()) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      }
      // A matrix step's id names all its tasks (step[k=v,...]); a task name, one of them.
      List<String> tasks = engine.store().tasks(runId).stream().map(t -> t.stepId())
          .filter(t -> step == null || t.equals(step) || t.startsWith(step + "[")).toList();
      if (step != null && tasks.isEmpty()) {
        throw new UserError("run " + runId + " has no step '" + step + "' that started");
      }
      boolean oneTask = step != null && tasks.equals(List.of(step));
      List<LogLine> lines = engine.store().logs(runId, step);
      for (LogLine l : lines) {
        String prefix = oneTask ? "" : "[" + l.stepId() + "] ";
        if (l.stream().equals("stderr")) {
          System.out.println(prefix + l.line());
        } else if (l.stream().equals("system")) {
          System.out.println(prefix + "# " + l.line());
        } else {
          System.out.println(prefix + l.line());
        }
      }
      return Main.OK;
    }
  }
}
