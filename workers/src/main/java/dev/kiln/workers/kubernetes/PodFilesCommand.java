package dev.kiln.workers.kubernetes;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code kiln pod-files}: what the kiln containers of a Kubernetes step's pod run (hidden; the
 * kubernetes executor writes these commands into the Job). The store is the one the environment
 * names ({@code KILN_ARTIFACTS=s3://...}, {@code KILN_S3_ENDPOINT}, {@code AWS_*}).
 */
@Command(
    name = "pod-files",
    hidden = true,
    mixinStandardHelpOptions = true,
    description = "Moves a Kubernetes step's files through the artifact store (used in its pod).",
    subcommands = {PodFilesCommand.Fetch.class, PodFilesCommand.Push.class})
public final class PodFilesCommand {
  private static ArtifactStore store() {
    KilnConfig config = KilnConfig.fromEnvironment();
    if (config.s3() == null) {
      throw new IllegalStateException(
          "KILN_ARTIFACTS must name an S3 store (s3://BUCKET/PREFIX) for a pod's files");
    }
    return ArtifactStore.open(config);
  }

  @Command(name = "fetch", description = "Fetches the inputs folder SHA256 into DIR.")
  static final class Fetch implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SHA256")
    String sha256;

    @Parameters(index = "1", paramLabel = "DIR")
    Path dir;

    @Override
    public Integer call() throws Exception {
      try (ArtifactStore store = store()) {
        PodFiles.fetch(store, sha256, dir);
      }
      return 0;
    }
  }

  @Command(
      name = "push",
      description = {
        "Waits until the step wrote DIR/" + PodFiles.STEP_EXIT + ", then stores DIR's outputs,",
        "metrics and artifacts and prints '" + PodFiles.RESULTS + "SHA256'."
      })
  static final class Push implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @Override
    public Integer call() throws Exception {
      Path exit = dir.resolve(PodFiles.STEP_EXIT);
      while (!Files.exists(exit)) {
        Thread.sleep(200); // the step runs in the pod's other container; no event tells us
      }
      try (ArtifactStore store = store()) {
        System.out.println(PodFiles.RESULTS + PodFiles.push(store, dir));
      }
      return 0;
    }
  }
}
