package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.ProcessNames;
import dev.kiln.engine.spi.WorkerRuntime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Claim and run steps from the shared database until stopped.",
      "SIGTERM drains: no new claims, running steps finish (up to --grace),",
      "the rest are handed back, then it exits."
    })
final class WorkerCommand implements Callable<Integer> {
  @Option(
      names = "--queue",
      paramLabel = "NAME",
      description = "a queue to serve (repeatable; default: default)")
  List<String> queues = List.of("default");

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "steps run at once (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--lease",
      defaultValue = "30s",
      description = "claim lease without a heartbeat (default ${DEFAULT-VALUE})")
  String lease;

  @Option(
      names = "--grace",
      defaultValue = "60s",
      description = "how long SIGTERM waits for running steps")
  String grace;

  @Option(
      names = "--executor",
      paramLabel = "NAME",
      description = {
        "run every step with this executor; claims only steps that",
        "require it or none (executor: in the DSL)"
      })
  String executor;

  @Mixin DataRootOption dataRoots;

  @Option(
      names = "--allow-host-network",
      description = "let container steps use 'network: host' (refused otherwise; docs/security.md)")
  boolean allowHostNetwork;

  @Override
  public Integer call() throws Exception {
    if (allowHostNetwork) {
      // Read by the docker executor (workers), which the engine does not import.
      System.setProperty("kiln.allowHostNetwork", "true");
    }
    if (slots < 1) {
      throw new UserError("--slots must be at least 1, got " + slots);
    }
    Duration leaseD = Durations.parse("--lease", lease);
    Duration graceD = Durations.parse("--grace", grace);
    KilnConfig config = dataRoots.config();
    Engine engine = Engine.open(config, slots + 4);
    if (config.dbUrl() == null) {
      StoreUsers.register(config.home(), "kiln worker");
    }
    String name = ProcessNames.of("worker");
    WorkerRuntime.Handle handle =
        WorkerRuntime.load()
            .start(engine, new WorkerRuntime.Options(name, queues, slots, leaseD, executor));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("kiln worker " + name + ": draining (up to " + grace + ")");
                  try {
                    handle.drain(graceD);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  handle.close();
                  engine.close();
                  stopped.countDown();
                },
                "kiln-worker-drain"));
    System.err.println("kiln worker " + name + " serving " + queues + " with " + slots + " slots");
    stopped.await();
    return Main.OK;
  }
}
