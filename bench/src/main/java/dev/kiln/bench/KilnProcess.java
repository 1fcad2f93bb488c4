package dev.kiln.bench;

import dev.kiln.engine.cli.Main;
import dev.kiln.engine.util.DaemonThreads;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kiln commands run as child processes of the benchmark, the way a user runs them: a fresh JVM on
 * the benchmark's own class path and environment (so the same KILN_HOME and database).
 */
final class KilnProcess {
  private static final Pattern LISTENING = Pattern.compile("listening on http://([^:/ ]+):(\\d+)");

  private KilnProcess() {}

  /** {@code java -cp CLASSPATH dev.kiln.engine.cli.Main ARGS}. */
  static ProcessBuilder command(List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(args);
    return new ProcessBuilder(cmd)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
  }

  /** Runs a kiln command to its end, output discarded; fails unless it exits 0. */
  static void runToEnd(List<String> args) throws IOException, InterruptedException {
    Process p =
        command(args)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    int rc = p.waitFor();
    if (rc != 0) {
      throw new IllegalStateException("kiln " + String.join(" ", args) + " exited " + rc);
    }
  }

  /** A {@code kiln server} child process on loopback, on the port it printed. */
  record Server(Process process, int port) implements AutoCloseable {
    String url(String path) {
      return "http://127.0.0.1:" + port + path;
    }

    /** SIGTERM, then at most 30 s for it to stop. */
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  /**
   * Starts {@code kiln server --port 0} hosting {@code pipelines} with {@code slots} worker slots
   * and returns once it printed the port it listens on.
   */
  static Server server(Path pipelines, int slots) throws IOException {
    Process p =
        command(
                List.of(
                    "server",
                    "--port",
                    "0",
                    "--pipelines",
                    pipelines.toString(),
                    "--slots",
                    String.valueOf(slots)))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      Matcher m = LISTENING.matcher(line);
      if (m.find()) {
        drain("kiln-bench-server-out", out);
        return new Server(p, Integer.parseInt(m.group(2)));
      }
    }
    p.destroyForcibly();
    throw new IllegalStateException("kiln server exited before it printed its port");
  }

  /**
   * Reads the rest of a child's output on a daemon thread called {@code name} and drops it, so the
   * child never blocks on a full pipe.
   */
  static void drain(String name, Reader rest) {
    DaemonThreads.start(
        name,
        () -> {
          try {
            rest.transferTo(Writer.nullWriter());
          } catch (IOException stopped) {
            // the child exited: nothing more to read
          }
        });
  }
}
