package dev.kiln.engine.artifact;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.UUID;

/**
 * Artifacts in a local folder ({@code $KILN_HOME/artifacts}), laid out as {@code
 * sha256/AB/ABCD...}. Writes go to a temporary name first and are renamed into place, so a crash
 * never leaves a half-written blob under a valid hash.
 */
public final class LocalArtifactStore implements ArtifactStore {
  private final Path root;

  public LocalArtifactStore(Path root) {
    this.root = root;
  }

  @Override
  public Path path(String sha256) {
    return root.resolve("sha256").resolve(sha256.substring(0, 2)).resolve(sha256);
  }

  @Override
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
    String sha = Digests.sha256(source);
    Path target = path(sha);
    long size = Files.size(source);
    if (!touch(target)) {
      Path tmp = temporary(sha);
      try {
        Files.copy(source, tmp, StandardCopyOption.COPY_ATTRIBUTES);
        moveIntoPlace(tmp, target);
      } catch (IOException e) {
        removeQuietly(tmp, e); // a copy cut short (a full disk) leaves nothing behind
        throw e;
      }
      touch(target);
    }
    return new Stored(sha, size, "file", target);
  }

  private Stored putDir(Path dir) throws IOException {
    Digests.Listing listing = Digests.listing(dir);
    Path target = path(listing.sha256());
    if (!touch(target)) {
      Path tmp = temporary(listing.sha256());
      try {
        Files.createDirectories(tmp);
        for (Digests.Entry e : listing.entries()) {
          Path to = tmp.resolve(e.path());
          Files.createDirectories(to.getParent());
          Files.copy(dir.resolve(e.path()), to, StandardCopyOption.COPY_ATTRIBUTES);
        }
        moveIntoPlace(tmp, target);
      } catch (IOException e) {
        removeQuietly(tmp, e);
        throw e;
      }
      touch(target);
    }
    return new Stored(listing.sha256(), listing.size(), "dir", target);
  }

  @Override
  public boolean exists(String sha256) {
    return Files.exists(path(sha256), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public Path local(String sha256) throws IOException {
    Path p = path(sha256);
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException("artifact sha256 " + sha256 + " is not in the store " + root);
    }
    return p;
  }

  @Override
  public boolean delete(String sha256, Instant notSince) throws IOException {
    Path p = path(sha256);
    if (!stale(sha256, notSince)) {
      return false;
    }
    ArtifactStore.deleteTree(p);
    return true;
  }

  /** Whether the content is here and was last stored before {@code notSince}. */
  boolean stale(String sha256, Instant notSince) throws IOException {
    Path p = path(sha256);
    try {
      return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(notSince);
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /**
   * Marks content as stored now, so retention does not remove what a step has just stored but not
   * yet recorded (a copy keeps its source's time). False when the content is not there.
   */
  private static boolean touch(Path target) throws IOException {
    try {
      Files.setLastModifiedTime(target, FileTime.from(Instant.now()));
      return true;
    } catch (NoSuchFileException absent) {
      return false;
    }
  }

  @Override
  public String describe(String sha256) {
    return path(sha256).toString();
  }

  /** A fresh name beside where {@code sha256} goes, for writing it before the rename. */
  Path temporary(String sha256) throws IOException {
    Path target = path(sha256);
    Files.createDirectories(target.getParent());
    return target.resolveSibling(sha256 + "." + UUID.randomUUID() + ".tmp");
  }

  private static void removeQuietly(Path tmp, IOException cause) {
    try {
      ArtifactStore.deleteTree(tmp);
    } catch (IOException e) {
      cause.addSuppressed(e);
    }
  }

  /** Renames a finished temporary copy into place; if a copy is there already, keeps that one. */
  static void moveIntoPlace(Path tmp, Path target) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
      // Another writer stored the same content first: same bytes, keep theirs.
      ArtifactStore.deleteTree(tmp);
    }
  }
}
