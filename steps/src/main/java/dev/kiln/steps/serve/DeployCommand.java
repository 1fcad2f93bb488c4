package dev.kiln.steps.serve;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "deploy",
    mixinStandardHelpOptions = true,
    description = {
      "Serve NAME@ALIAS and follow the alias until stopped (Ctrl-C): the version under the alias",
      "runs in a container (its image built as by 'kiln models package'), behind a stable",
      "address owned by this process. When the alias moves (promote, rollback) the new version",
      "starts, and traffic switches only once it is healthy; the old one stops after its last",
      "request. A version that does not become healthy is reported; the old one keeps serving."
    })
final class DeployCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME")
  String name;

  @Option(names = "--alias", required = true, paramLabel = "ALIAS")
  String alias;

  @Option(names = "--port", paramLabel = "P", description = "the stable port (default 8081)")
  int port = 8081;

  @Option(names = "--host", paramLabel = "HOST", description = "default 127.0.0.1")
  String host = "127.0.0.1";

  @Option(
      names = "--poll",
      paramLabel = "SECONDS",
      description = "how often the alias is checked (default 2)")
  int poll = 2;

  @Option(
      names = "--health-timeout",
      paramLabel = "SECONDS",
      description = "how long a new version may take to become healthy (default 120)")
  int healthTimeout = 120;

  @Override
  public Integer call() throws InterruptedException {
    try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      Names.model(name);
      Names.alias(alias);
      Deployment d =
          Deployment.open(
              e,
              Docker.connect(),
              name,
              alias,
              host,
              port,
              Duration.ofSeconds(healthTimeout),
              line -> System.err.println("kiln deploy: " + line));
      CountDownLatch stopped = new CountDownLatch(1);
      Thread hook =
          new Thread(
              () -> {
                d.close();
                stopped.countDown();
              });
      Runtime.getRuntime().addShutdownHook(hook);
      d.follow();
      System.out.println(name + "@" + alias + " at " + d.url());
      while (!stopped.await(poll, TimeUnit.SECONDS)) {
        d.follow();
      }
      return 0;
    } catch (ServeException | Docker.Unavailable | RegistryException ex) {
      System.err.println("kiln: " + ex.getMessage());
      return 2;
    }
  }
}
