package dev.kiln.workers.loop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Free space under KILN_HOME, and telling a full disk from other I/O errors. */
final class DiskSpace {
  private DiskSpace() {}

  /** Whether {@code e} (or a cause) is the file system saying it is full (ENOSPC, EDQUOT). */
  static boolean isDiskFull(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage();
      if (m != null && (m.contains("No space left on device") || m.contains("quota exceeded"))) {
        return true;
      }
    }
    return false;
  }

  /** Bytes a process may still write on the file system holding {@code dir} (or its parent). */
  static long usable(Path dir) {
    Path p = dir.toAbsolutePath();
    while (p != null && !Files.exists(p)) {
      p = p.getParent();
    }
    if (p == null) {
      return Long.MAX_VALUE;
    }
    // java.io.File asks statvfs(3) directly; Files.getFileStore first reads /proc/self/mounts to
    // find the mount (0.4 ms, on every claim). File says 0 for a full disk and for an error too:
    // the file store tells them apart.
    long usable = p.toFile().getUsableSpace();
    if (usable > 0) {
      return usable;
    }
    try {
      return Files.getFileStore(p).getUsableSpace();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }
}
