package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetVersion;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "datasets",
    mixinStandardHelpOptions = true,
    description = {
      "Versioned data sets recorded by 'uses: dataset/version' steps.",
      "A version is content (sha256), stored once in the artifact store."
    },
    subcommands = {DatasetsCommand.ListDatasets.class, DatasetsCommand.Show.class})
final class DatasetsCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List data sets with their latest version.")
  static final class ListDatasets implements Callable<Integer> {
    @Override
    public Integer call() {
      try (Engine e = ModelsCommand.open()) {
        List<Map.Entry<DatasetVersion, Integer>> all = e.datasets().latest();
        if (all.isEmpty()) {
          System.out.println("no data sets yet: a pipeline step 'uses: dataset/version' adds one");
          return Main.OK;
        }
        System.out.printf(
            "%-28s %-9s %-7s %-12s %-10s %s%n",
            "DATASET", "VERSIONS", "LATEST", "SHA256", "ROWS", "CREATED");
        for (var en : all) {
          DatasetVersion v = en.getKey();
          System.out.printf(
              "%-28s %-9d %-7d %-12s %-10s %s%n",
              v.name(),
              en.getValue(),
              v.version(),
              Refs.shortSha(v.sha256()),
              v.rows() == null ? "-" : v.rows(),
              ModelsCommand.TIME.format(v.createdAt()));
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show every version of a data set with its schema.")
  static final class Show implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      try (Engine e = ModelsCommand.open()) {
        List<DatasetVersion> versions = e.datasets().versions(name);
        if (versions.isEmpty()) {
          throw new UserError("no data set '" + name + "' (see 'kiln datasets list')");
        }
        System.out.println("dataset " + name);
        for (DatasetVersion v : versions) {
          System.out.printf(
              "version %d  sha256 %s  %d bytes (%s)  rows %s  run %s  %s%n",
              v.version(),
              v.sha256(),
              v.size(),
              v.kind(),
              v.rows() == null ? "-" : v.rows(),
              v.runId() == null ? "-" : v.runId(),
              ModelsCommand.TIME.format(v.createdAt()));
          System.out.println("  from    " + (v.sourcePath() == null ? "-" : v.sourcePath()));
          System.out.println("  stored  " + e.artifacts().describe(v.sha256()));
          if (!v.schema().isEmpty()) {
            System.out.println(
                "  schema  "
                    + v.schema().stream()
                        .map(c -> c.name() + " " + c.type())
                        .collect(Collectors.joining(", ")));
          }
        }
        return Main.OK;
      }
    }
  }
}
