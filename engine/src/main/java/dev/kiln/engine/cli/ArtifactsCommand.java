package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.RunQueries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "artifacts",
    mixinStandardHelpOptions = true,
    description = "A run's artifacts: list them, or copy one out of the artifact store.",
    subcommands = {ArtifactsCommand.ListArtifacts.class, ArtifactsCommand.Get.class})
final class ArtifactsCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "The run's artifacts: step, name, kind, size, sha256.")
  static final class ListArtifacts implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN")
    long runId;

    @Override
    public Integer call() {
      try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
        if (e.store().run(runId).isEmpty()) {
          throw new UserError("no run " + runId + " (see 'kiln runs')");
        }
        for (RunQueries.Artifact a : new RunQueries(e.db()).artifacts(runId)) {
          System.out.printf(
              "%-20s %-24s %-4s %12d %s%n", a.step(), a.name(), a.kind(), a.size(), a.sha256());
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = {
        "Copy an artifact of a run's step out of the artifact store (local or S3;",
        "the download is checked against its sha256). Prints the path written."
      })
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN")
    long runId;

    @Parameters(index = "1", paramLabel = "STEP")
    String step;

    @Parameters(index = "2", paramLabel = "NAME")
    String name;

    @Option(
        names = {"-o", "--output"},
        paramLabel = "PATH",
        description = "where to write it (default: ./NAME); must not exist yet")
    Path output;

    @Override
    public Integer call() throws IOException {
      try (Engine e = Engine.open(KilnConfig.fromEnvironment(), 2)) {
        if (e.store().run(runId).isEmpty()) {
          throw new UserError("no run " + runId + " (see 'kiln runs')");
        }
        RunQueries queries = new RunQueries(e.db());
        RunQueries.Artifact a =
            queries
                .artifact(runId, step, name)
                .orElseThrow(
                    () ->
                        new UserError(
                            "run "
                                + runId
                                + " has no artifact '"
                                + name
                                + "' of step '"
                                + step
                                + "'"
                                + known(queries.artifacts(runId))));
        Path target = output == null ? Path.of(name) : output;
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
          throw new UserError(target + " exists: choose another path with -o");
        }
        Path source = e.artifacts().local(a.sha256());
        if (target.toAbsolutePath().getParent() != null) {
          Files.createDirectories(target.toAbsolutePath().getParent());
        }
        ArtifactStore.copyTree(source, target);
        System.out.println(target);
        return Main.OK;
      }
    }

    private static String known(List<RunQueries.Artifact> all) {
      if (all.isEmpty()) {
        return " (it has none)";
      }
      return " (it has "
          + all.stream().map(x -> x.step() + "/" + x.name()).toList()
          + "; see 'kiln artifacts list')";
    }
  }
}
