package dev.kiln.engine.spi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where a built-in step may read and write files: the one resolver every path a built-in takes from
 * {@code with:} goes through. A relative path resolves against the run's folder; the result, after
 * {@code ..} and symbolic links are resolved ({@link Path#toRealPath}, the real parent for a file
 * not written yet), must lie inside one of the roots: the run's folder, the pipeline's folder, the
 * attempt's work folder, the local artifact store and each {@code --data-root}. A folder is refused
 * when a symbolic link inside it leads out.
 */
public final class StepPaths {
  /** A path the step may not use; the message says why, without the step or field. */
  public static final class Refused extends Exception {
    Refused(String message) {
      super(message);
    }
  }

  private final Path base;
  private final List<Path> roots;

  public StepPaths(Path base, List<Path> roots) {
    this.base = base.toAbsolutePath().normalize();
    List<Path> all = new ArrayList<>();
    all.add(this.base);
    roots.forEach(r -> all.add(r.toAbsolutePath().normalize()));
    this.roots = List.copyOf(all);
  }

  /** The folder relative paths resolve against (where the run was started). */
  public Path base() {
    return base;
  }

  /** An existing file or folder to read; its real path. */
  public Path read(String raw) throws Refused {
    Path p = lexical(raw);
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new Refused("path '" + raw + "' does not exist (looked at " + p + ")");
    }
    Path real = real(raw, p);
    if (Files.isDirectory(real)) {
      checkLinksInside(raw, real);
    }
    return real;
  }

  /**
   * An existing path to read, or empty when nothing is there (the field may name something else).
   */
  public Optional<Path> readIfExists(String raw) throws Refused {
    return Files.exists(lexical(raw), LinkOption.NOFOLLOW_LINKS)
        ? Optional.of(read(raw))
        : Optional.empty();
  }

  /**
   * A glob to read (DuckDB's {@code *}, {@code **}, {@code ?}, {@code [..]}, {@code {..}}): its
   * folder before the first wildcard must be inside, hold no symbolic link leading out, and the
   * wildcard part may not climb out with {@code ..}. Returns the glob with that folder made real.
   */
  public String glob(String raw) throws Refused {
    int wild = firstWildcard(raw);
    if (wild < 0) {
      return read(raw).toString();
    }
    int cut = raw.lastIndexOf('/', wild);
    String fixed = cut < 0 ? "." : raw.substring(0, Math.max(cut, 1));
    String pattern = cut < 0 ? raw : raw.substring(cut + 1);
    for (String segment : pattern.split("/")) {
      if (segment.equals("..")) {
        throw new Refused("glob '" + raw + "' climbs out of its folder with '..'");
      }
    }
    Path dir = read(fixed);
    if (!Files.isDirectory(dir)) {
      throw new Refused("glob '" + raw + "': " + dir + " is not a folder");
    }
    return dir.resolve(pattern).toString();
  }

  private static int firstWildcard(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      if ("*?[{".indexOf(raw.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  /** A file to write: it or, when it does not exist yet, its real parent folder must be inside. */
  public Path write(String raw) throws Refused {
    Path p = lexical(raw);
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return real(raw, p);
    }
    Path parent = p.getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw new Refused("path '" + raw + "': its folder " + parent + " does not exist");
    }
    return real(raw, parent).resolve(p.getFileName());
  }

  private Path lexical(String raw) throws Refused {
    if (raw.indexOf('\0') >= 0) {
      throw new Refused("path '" + raw.replace('\0', '?') + "' holds a NUL byte");
    }
    return base.resolve(raw).toAbsolutePath().normalize();
  }

  private Path real(String raw, Path p) throws Refused {
    Path real;
    try {
      real = p.toRealPath();
    } catch (IOException e) {
      throw new Refused("cannot read path '" + raw + "': " + e.getMessage());
    }
    if (inside(real)) {
      return real;
    }
    if (inside(p)) {
      throw new Refused(
          "path '" + raw + "' is or lies under a symbolic link that leads to " + real + ", " + OUT);
    }
    throw new Refused("path '" + raw + "' (" + p + ") is " + OUT);
  }

  private static final String OUT =
      "outside the folders built-in steps may use (the run's and the pipeline's folder, the work"
          + " folder, the artifact store, each --data-root / KILN_DATA_ROOTS)";

  private void checkLinksInside(String raw, Path dir) throws Refused {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) all::iterator) {
        if (Files.isSymbolicLink(f) && !inside(f.toRealPath())) {
          throw new Refused(
              "folder '"
                  + raw
                  + "' holds a symbolic link "
                  + dir.relativize(f)
                  + " that leads to "
                  + f.toRealPath()
                  + ", "
                  + OUT);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      throw new Refused("cannot read folder '" + raw + "': " + e.getMessage());
    }
  }

  private boolean inside(Path real) {
    for (Path root : roots) {
      try {
        if (real.startsWith(root) || real.startsWith(root.toRealPath())) {
          return true;
        }
      } catch (IOException missingRoot) {
        // a root that does not exist (an artifact store not created yet) holds nothing
      }
    }
    return false;
  }
}
