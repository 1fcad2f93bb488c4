package dev.kiln.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code kiln bench [WHAT]}: every benchmark of Kiln. Without a subcommand it runs the default
 * suite, {@code kiln bench steps}, with the same options.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    synopsisSubcommandLabel = "[WHAT]",
    description = {
      "Measure Kiln. Without WHAT, runs 'kiln bench steps' (the options below are",
      "its options). Results are recorded in docs/benchmarks.md."
    },
    subcommands = {
      StepsBench.class,
      ScaleBench.class,
      WebhookBench.class,
      DockerBench.class,
      RegistryBench.class,
      ApiBench.class,
      AuthBench.class,
      ThroughputBench.class,
      UiBench.class,
      CommandsBench.class,
      ServeBench.class,
      SoakBench.class
    })
final class BenchCommand implements Callable<Integer> {
  @Mixin StepsBench.Options options;

  @Override
  public Integer call() throws Exception {
    return StepsBench.run(options);
  }
}
