package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.task.RunNotFoundException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "retry",
    mixinStandardHelpOptions = true,
    description = {
      "Re-run a failed or cancelled run from where it failed.",
      "Steps that succeeded keep their outputs and artifacts; the rest run in this",
      "process, as with 'kiln run'."
    })
final class RetryCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Option(names = "--json", description = "print the new run's summary as JSON on stdout")
  boolean json;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "steps run at once (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--executor",
      paramLabel = "NAME",
      description = "run every step with this executor")
  String executor;

  @Override
  public Integer call() throws Exception {
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 4)) {
      long newId;
      try {
        newId = engine.runs().retry(runId);
      } catch (RunNotFoundException e) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      } catch (IllegalStateException e) {
        throw new UserError(e.getMessage());
      }
      RunRecord run = engine.store().run(newId).orElseThrow();
      return new RunFollower(engine, json, executor, slots)
          .follow(newId, engine.runs().pipeline(run.pipelineVersion()));
    }
  }
}
