package dev.kiln.workers.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every step process carries {@code KILN_TASK} in its environment, so the step processes a dead
 * worker left behind on this host can be found and stopped before the step runs again.
 */
public final class LocalProcesses {
  private LocalProcesses() {}

  /** The value of KILN_TASK for an attempt. */
  public static String taskTag(long taskId, int attempt) {
    return taskId + "/" + attempt;
  }

  /** Kills (SIGKILL) every process on this host whose environment has KILN_TASK=tag. */
  public static int killTagged(String tag) {
    byte[] needle = ("KILN_TASK=" + tag + "\0").getBytes(StandardCharsets.UTF_8);
    int killed = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path d : dirs) {
        byte[] env;
        try {
          env = Files.readAllBytes(d.resolve("environ"));
        } catch (IOException | SecurityException gone) {
          continue;
        }
        if (indexOf(env, needle) >= 0) {
          long pid = Long.parseLong(d.getFileName().toString());
          if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) {
            killed++;
          }
        }
      }
    } catch (IOException notLinux) {
      return killed;
    }
    return killed;
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
