package dev.kiln.workers.loop;

import java.io.IOException;
import java.nio.file.FileStore;
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
    try {
      FileStore store = Files.getFileStore(p);
      return store.getUsableSpace();
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }
}
