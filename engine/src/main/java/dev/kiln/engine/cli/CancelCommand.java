package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.RunService.CancelResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = {
      "Cancel a run.",
      "Queued steps are dropped; running ones are stopped (process tree killed)",
      "by their worker."
    })
final class CancelCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Override
  public Integer call() {
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      CancelResult r = engine.runs().cancel(runId);
      switch (r) {
        case NOT_FOUND -> throw new UserError("no run " + runId + " (see 'kiln runs')");
        case ALREADY_FINISHED -> {
          System.out.println(
              "run "
                  + runId
                  + " already finished: "
                  + engine.store().run(runId).orElseThrow().status().db());
          return Main.OK;
        }
        default -> {
          System.out.println("run " + runId + " cancelled");
          return Main.OK;
        }
      }
    }
  }
}
