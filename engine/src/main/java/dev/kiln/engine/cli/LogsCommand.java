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

  @Parameters(index = "1", arity = "0..1", paramLabel = "STEP", description = "only this step")
  String step;

  @Override
  public Integer call() {
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      if (engine.store().run(runId).isEmpty()) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      }
      if (step != null && engine.store().tasks(runId).stream().noneMatch(t -> t.stepId().equals(step))) {
        throw new UserError("run " + runId + " has no step '" + step + "' that started");
      }
      List<LogLine> lines = engine.store().logs(runId, step);
      for (LogLine l : lines) {
        String prefix = step == null ? "[" + l.stepId() + "] " : "";
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
