package dev.kiln.steps.serve;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
    name = "deployments",
    mixinStandardHelpOptions = true,
    description =
        "List the deployments (kiln deploy, model/deploy): where each serves which version.")
final class DeploymentsCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      List<ServingStore.DeploymentRow> rows = new ServingStore(e.db()).deployments();
      if (rows.isEmpty()) {
        System.out.println("no deployments yet: 'kiln deploy NAME --alias ALIAS' starts one");
        return 0;
      }
      System.out.printf(
          "%-24s %-12s %-9s %-8s %-28s %-20s %s%n",
          "MODEL", "ALIAS", "STATUS", "VERSION", "URL", "OWNER", "LAST ERROR");
      for (ServingStore.DeploymentRow d : rows) {
        System.out.printf(
            "%-24s %-12s %-9s %-8s %-28s %-20s %s%n",
            d.name(),
            d.alias(),
            d.status(),
            d.version() == null ? "-" : d.version(),
            d.url(),
            d.owner(),
            d.error() == null
                ? ""
                : (d.failedVersion() == null ? "" : "version " + d.failedVersion() + ": ")
                    + d.error());
      }
      return 0;
    }
  }
}
