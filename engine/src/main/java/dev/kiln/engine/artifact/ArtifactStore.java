package dev.kiln.engine.artifact;

import dev.kiln.engine.config.KilnConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Content-addressed artifacts: a file is stored once under its sha256; a folder under the sha256 of
 * its sorted (relative path, file sha256) listing. Two implementations, chosen by {@code
 * KILN_ARTIFACTS}: {@link LocalArtifactStore} (a folder on this host) and {@link S3ArtifactStore}
 * (an S3-compatible object store, with the local folder as this host's copy).
 *
 * <p>{@link #path} is where the content lives <em>on this host</em>; runs hand these paths to the
 * steps that need the content, and a worker calls {@link #local} to make sure it is there before
 * the step starts.
 */
public interface ArtifactStore extends AutoCloseable {

  /** What {@link #put} stored: kind is "file" or "dir"; path its copy on this host. */
  record Stored(String sha256, long size, String kind, Path path) {}

  /** Opens the store {@code config} names, checking it can be used (S3: bucket and credentials). */
  static ArtifactStore open(KilnConfig config) {
    LocalArtifactStore local = new LocalArtifactStore(config.artifactsDir());
    return config.s3() == null ? local : S3ArtifactStore.open(config.s3(), local);
  }

  /** Where content with this hash lives on this host (it may not be there yet). */
  Path path(String sha256);

  /**
   * Stores a regular file or a folder (links are refused: they could lead out of it) and returns
   * once the content is safe in the store.
   */
  Stored put(Path source) throws IOException;

  /** Whether the store has the content (anywhere, not only on this host). */
  boolean exists(String sha256) throws IOException;

  /**
   * Makes the content present on this host and returns {@link #path}: downloaded and verified
   * against its sha256 when it is not here yet.
   */
  Path local(String sha256) throws IOException;

  /**
   * {@link #local} for a path a store handed out ({@code .../sha256/AB/ABCD...}), on this host or
   * on one with another {@code KILN_HOME}; any other path is returned as it is.
   */
  default Path local(Path handedOut) throws IOException {
    int n = handedOut.getNameCount();
    if (n >= 3) {
      String name = handedOut.getName(n - 1).toString();
      if (Digests.isSha256(name)
          && handedOut.getName(n - 2).toString().equals(name.substring(0, 2))
          && handedOut.getName(n - 3).toString().equals("sha256")) {
        return local(name);
      }
    }
    return handedOut;
  }

  /**
   * Removes the content unless it was stored (or stored again) after {@code notSince}: a step may
   * have just stored the same bytes and not yet recorded its artifact row. Returns whether it was
   * removed; false also when it was not there. Used by retention only, for content no row names.
   */
  boolean delete(String sha256, Instant notSince) throws IOException;

  /** Where the content is kept, for people: a path, or s3://bucket/key. */
  String describe(String sha256);

  @Override
  default void close() {}

  /** The sha256 of a file, in hex. */
  static String sha256(Path file) throws IOException {
    return Digests.sha256(file);
  }

  /** Copies a file, or a folder with everything in it, to {@code to}, which must not exist. */
  static void copyTree(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      Files.copy(from, to);
      return;
    }
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  /** Removes a file or a folder with everything in it; nothing when it does not exist. */
  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path x : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(x);
      }
    }
  }
}
