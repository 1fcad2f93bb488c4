package dev.kiln.workers.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Every step process carries {@code KILN_TASK} in its environment, and so does everything it starts
 * (a variable is inherited, whatever session or parent the process ends up with). That is how the
 * processes of a step are found: to stop a step that timed out or was cancelled, to stop the
 * background children a finished step left holding its output open, and to stop the step processes
 * a dead worker left behind on this host before the step runs again. A process that starts a child
 * with an emptied environment ({@code env -i}) hides that child.
 */
public final class LocalProcesses {
  private LocalProcesses() {}

  /**
   * The value of KILN_TASK for an attempt run by a worker: the worker's name ends in its pid and
   * host, so two kiln processes on one host (on two databases, say) never share a tag.
   */
  public static String taskTag(long taskId, int attempt, String worker) {
    return taskId + "/" + attempt + "/" + worker;
  }

  /** Kills (SIGKILL) every process on this host whose environment has KILN_TASK=tag. */
  public static int killTagged(String tag) {
    int killed = 0;
    for (ProcessHandle h : tagged(tag)) {
      if (h.destroyForcibly()) {
        killed++;
      }
    }
    return killed;
  }

  /** The live processes on this host whose environment has KILN_TASK=tag (Linux /proc). */
  public static List<ProcessHandle> tagged(String tag) {
    byte[] needle = ("KILN_TASK=" + tag + "\0").getBytes(StandardCharsets.UTF_8);
    List<ProcessHandle> out = new ArrayList<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path d : dirs) {
        byte[] env;
        try {
          env = Files.readAllBytes(d.resolve("environ"));
        } catch (IOException | SecurityException gone) {
          continue;
        }
        if (indexOf(env, needle) >= 0) {
          ProcessHandle.of(Long.parseLong(d.getFileName().toString())).ifPresent(out::add);
        }
      }
    } catch (IOException notLinux) {
      return out;
    }
    return out;
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      // The variable must start an entry: at 0 or after a NUL.
      if (i > 0 && hay[i - 1] != 0) {
        continue;
      }
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
