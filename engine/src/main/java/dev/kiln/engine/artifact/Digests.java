package dev.kiln.engine.artifact;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/** Hashes of files and of folder listings: the addresses both stores use. */
final class Digests {
  /** 1 MiB reads: with the default 8 KiB the per-call overhead costs a third of the speed. */
  static final int BUFFER = 1 << 20;

  private Digests() {}

  /** One file of a folder: its path relative to the folder (with '/'), its hash and size. */
  record Entry(String path, String sha256, long size) {}

  /**
   * A folder's content: its entries sorted by path, and the listing text whose sha256 is the
   * folder's address (lines "path NUL sha256 LF"). The S3 store keeps that text as the folder's
   * object, so it verifies like any blob.
   */
  record Listing(List<Entry> entries, byte[] text, String sha256, long size) {}

  static boolean isSha256(String s) {
    return s.length() == 64
        && s.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f');
  }

  static String sha256(Path file) throws IOException {
    MessageDigest md = digest();
    byte[] buf = new byte[BUFFER];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return hex(md);
  }

  static Listing listing(Path dir) throws IOException {
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
    List<Entry> entries = new ArrayList<>();
    for (Path f : files) {
      entries.add(new Entry(relative(dir, f), sha256(f), Files.size(f)));
    }
    entries.sort((a, b) -> a.path().compareTo(b.path()));
    return listing(entries);
  }

  static Listing listing(List<Entry> sorted) {
    StringBuilder text = new StringBuilder();
    long size = 0;
    for (Entry e : sorted) {
      text.append(e.path()).append('\0').append(e.sha256()).append('\n');
      size += e.size();
    }
    byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
    MessageDigest md = digest();
    md.update(bytes);
    return new Listing(List.copyOf(sorted), bytes, hex(md), size);
  }

  /**
   * Reads a listing text back (the S3 store's folder object); sizes are not in it (-1). Paths that
   * could leave the folder are refused: the text came over the network.
   */
  static List<Entry> parse(byte[] text) throws IOException {
    List<Entry> entries = new ArrayList<>();
    String s = new String(text, StandardCharsets.UTF_8);
    for (String line : s.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      int nul = line.indexOf('\0');
      String path = nul < 0 ? "" : line.substring(0, nul);
      String sha = nul < 0 ? "" : line.substring(nul + 1);
      if (path.isEmpty()
          || !isSha256(sha)
          || path.startsWith("/")
          || ("/" + path + "/").contains("/../")) {
        throw new IOException("bad line in a folder listing: '" + line.replace('\0', ' ') + "'");
      }
      entries.add(new Entry(path, sha, -1));
    }
    return entries;
  }

  // The relative path with '/' whatever the platform, as the folder hash has always used.
  private static String relative(Path dir, Path f) {
    return dir.relativize(f).toString();
  }

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  static String hex(MessageDigest md) {
    return HexFormat.of().formatHex(md.digest());
  }
}
