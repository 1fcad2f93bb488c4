package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.TaskSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The artifacts side of an attempt's work folder: what needed steps made is copied in as
 * KILN_INPUTS, and what the step leaves in KILN_ARTIFACTS is put into the artifact store.
 */
final class WorkFolder {
  private final Engine engine;

  WorkFolder(Engine engine) {
    this.engine = engine;
  }

  String storeArtifacts(Path dir, List<Completion.Artifact> into) throws IOException {
    List<Path> entries;
    try (Stream<Path> s = Files.list(dir)) {
      entries = s.sorted().toList();
    }
    for (Path p : entries) {
      String name = p.getFileName().toString();
      if (Files.isSymbolicLink(p)) {
        return "artifact '" + name + "' is a symbolic link; links could lead out of KILN_ARTIFACTS";
      }
      try {
        ArtifactStore.Stored s = engine.artifacts().put(p);
        into.add(new Completion.Artifact(name, s.sha256(), s.size(), s.kind()));
      } catch (IOException e) {
        return (DiskSpace.isDiskFull(e) ? "disk full: " : "") + e.getMessage();
      }
    }
    return null;
  }

  /**
   * Makes the artifacts of needed steps readable as KILN_INPUTS/STEP/NAME (copies), fetching from
   * the artifact store what this host does not have yet (an S3 store: another host made it).
   */
  void linkInputs(TaskSpec spec, Path inputs) throws IOException {
    for (var step : spec.inputs().entrySet()) {
      Path dir = inputs.resolve(step.getKey());
      Files.createDirectories(dir);
      for (var a : step.getValue().entrySet()) {
        copyTree(engine.artifacts().local(Path.of(a.getValue())), dir.resolve(a.getKey()));
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(to);
      try (Stream<Path> s = Files.list(from)) {
        for (Path p : (Iterable<Path>) s::iterator) {
          copyTree(p, to.resolve(p.getFileName().toString()));
        }
      }
    } else {
      // A copy, not a link: a step that writes to its input must not change the stored artifact.
      Files.copy(from, to);
    }
  }
}
