package dev.kiln.engine.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running processes (servers, workers) using the embedded PostgreSQL of a KILN_HOME, so
 * {@code kiln db stop} can refuse to pull the store from under them. Each writes {@code
 * $KILN_HOME/in-use/PID} (what it is, and its start time to tell a reused pid apart) and removes it
 * on exit; a file whose process is gone is stale and ignored.
 */
final class StoreUsers {
  private static final Logger log = LoggerFactory.getLogger(StoreUsers.class);

  private StoreUsers() {}

  /** A live user: its pid and what it is ("kiln server"). */
  record User(long pid, String what) {}

  /** Registers this process until it exits. */
  static void register(Path home, String what) {
    ProcessHandle self = ProcessHandle.current();
    Path file = home.resolve("in-use").resolve(String.valueOf(self.pid()));
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, what + "\n" + started(self).orElse(""), StandardCharsets.UTF_8);
      file.toFile().deleteOnExit();
    } catch (IOException e) {
      // Only kiln db stop's refusal is lost; the process itself works on.
      log.warn("cannot record {} as a user of the store: {}", file, e.toString());
    }
  }

  /** The live registered users. */
  static List<User> live(Path home) throws IOException {
    Path dir = home.resolve("in-use");
    List<User> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        long pid;
        try {
          pid = Long.parseLong(f.getFileName().toString());
        } catch (NumberFormatException e) {
          continue;
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        Optional<ProcessHandle> ph = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        String recorded = lines.size() > 1 ? lines.get(1) : "";
        if (ph.isPresent()
            && (recorded.isEmpty() || recorded.equals(started(ph.get()).orElse("")))) {
          out.add(new User(pid, lines.isEmpty() ? "kiln" : lines.get(0)));
        } else {
          Files.deleteIfExists(f); // stale: its process is gone
        }
      }
    }
    return out;
  }

  private static Optional<String> started(ProcessHandle p) {
    return p.info().startInstant().map(Instant::toString);
  }
}
