package dev.kiln.engine.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "tag",
    mixinStandardHelpOptions = true,
    description = {
      "Set free-form tags on a run (KEY=VALUE) or remove them (--remove KEY);",
      "prints the run's tags. 'kiln runs compare' shows them."
    })
final class RunsTagCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "RUN")
  long runId;

  @Parameters(index = "1..*", paramLabel = "KEY=VALUE", arity = "0..*")
  List<String> pairs = new ArrayList<>();

  @Option(names = "--remove", paramLabel = "KEY", description = "remove this tag (repeatable)")
  List<String> remove = new ArrayList<>();

  @Override
  public Integer call() {
    Map<String, String> set = RunCommand.pairs(pairs, "a tag");
    try (var e = ModelsCommand.open()) {
      if (!e.experiments().tag(runId, set, remove)) {
        throw new UserError("no run " + runId + " (see 'kiln runs')");
      }
      System.out.println("run " + runId + " tags: " + Refs.map(e.experiments().tags(runId)));
      return Main.OK;
    }
  }
}
