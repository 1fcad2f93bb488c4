package dev.kiln.engine.artifact;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Content-addressed artifacts in a local folder: a file is stored once under its sha256; a folder
 * under the sha256 of its sorted (relative path, file sha256) listing. Writes go to a temporary
 * name first and are renamed into place, so a crash never leaves a half-written blob under a valid
 * hash.
 */
public final class ArtifactStore {
  private final Path root;

  public ArtifactStore(Path root) {
    this.root = root;
  }

  public record Stored(String sha256, long size, String kind, Path path) {}

  /** Where content with this hash lives (it may not exist). */
  public Path path(String sha256) {
    return root.resolve("sha256").resolve(sha256.substring(0, 2)).resolve(sha256);
  }

  /** Stores a regular file or a folder (links are refused: they could lead out of it). */
  public Stored put(Path source) throws IOException {
    if (Files.isSymbolicLink(source)) {
      throw new IOException(
          "artifact " + source.getFileName() + " is a symbolic link; links are not stored");
    }
    if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
      return putDir(source);
    }
    if (!Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(
          "artifact " + source.getFileName() + " is not a regular file or folder");
    }
    String sha = sha256(source);
    Path target = path(sha);
    long size = Files.size(source);
    if (!Files.exists(target)) {
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling(sha + "." + UUID.randomUUID() + ".tmp");
      Files.copy(source, tmp, StandardCopyOption.COPY_ATTRIBUTES);
      moveIntoPlace(tmp, target);
    }
    return new Stored(sha, size, "file", target);
  }

  private Stored putDir(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isSymbolicLink(p)) {
          throw new IOException(
              "artifact folder "
                  + dir.getFileName()
                  + " contains a symbolic link: "
                  + dir.relativize(p));
        }
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          files.add(p);
        }
      }
    }
    files.sort((a, b) -> dir.relativize(a).toString().compareTo(dir.relativize(b).toString()));
    MessageDigest listing = digest();
    long size = 0;
    for (Path f : files) {
      String rel = dir.relativize(f).toString();
      listing.update(
          (rel + "\0" + sha256(f) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      size += Files.size(f);
    }
    String sha = HexFormat.of().formatHex(listing.digest());
    Path target = path(sha);
    if (!Files.exists(target)) {
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling(sha + "." + UUID.randomUUID() + ".tmp");
      for (Path f : files) {
        Path to = tmp.resolve(dir.relativize(f).toString());
        Files.createDirectories(to.getParent());
        Files.copy(f, to, StandardCopyOption.COPY_ATTRIBUTES);
      }
      Files.createDirectories(tmp);
      moveIntoPlace(tmp, target);
    }
    return new Stored(sha, size, "dir", target);
  }

  private static void moveIntoPlace(Path tmp, Path target) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
      // Another writer stored the same content first: same bytes, keep theirs.
      deleteTree(tmp);
    }
  }

  public static String sha256(Path file) throws IOException {
    MessageDigest md = digest();
    // 1 MiB reads: with the default 8 KiB the per-call overhead costs a third of the speed.
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** Removes a file or a folder with everything in it; nothing when it does not exist. */
  public static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path x : (Iterable<Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(x);
      }
    }
  }
}
