package dev.kiln.engine.store;

import dev.kiln.engine.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/** A file in {@code $KILN_HOME} only its owner may read (mode 0600): passwords and keys. */
public final class OwnerOnlyFile {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private OwnerOnlyFile() {}

  /** Writes {@code text} to a new file created 0600 before any byte is written, then moved. */
  public static void create(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp =
        Files.createTempFile(
            file.getParent(),
            file.getFileName().toString(),
            ".tmp",
            PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Its text, trimmed; refused when others may read it. */
  public static String read(Path file) throws IOException {
    Set<PosixFilePermission> perms = null;
    try {
      perms = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException notPosix) {
      // no permission bits to check on this file system
    }
    if (perms != null && !OWNER_ONLY.containsAll(perms)) {
      throw new ConfigException(
          file
              + " is readable by others ("
              + PosixFilePermissions.toString(perms)
              + "): run chmod 600 "
              + file);
    }
    return Files.readString(file, StandardCharsets.UTF_8).trim();
  }
}
