package dev.kiln.workers;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real CLI as a separate JVM process, as a user would. */
public final class Kiln {
  public record Result(int exit, String out, String err) {}

  private final Map<String, String> env;
  private final Path dir;

  public Kiln(Map<String, String> env, Path dir) {
    this.env = env;
    this.dir = dir;
  }

  public Process start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.kiln.engine.cli.Main");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().remove("KILN_DB_URL");
    pb.environment().putAll(env);
    String id = Long.toHexString(System.nanoTime());
    pb.redirectOutput(dir.resolve("out-" + id + ".txt").toFile());
    pb.redirectError(dir.resolve("err-" + id + ".txt").toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = pb.start();
    outputs.put(p, id);
    return p;
  }

  private final Map<Process, String> outputs = new java.util.concurrent.ConcurrentHashMap<>();

  public Result finish(Process p, long timeoutSeconds) throws Exception {
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(
          "kiln did not finish within " + timeoutSeconds + "s: " + read(p, "err"));
    }
    return new Result(p.exitValue(), read(p, "out"), read(p, "err"));
  }

  /** What a started process has printed on stdout so far. */
  public String outSoFar(Process p) throws IOException {
    return read(p, "out");
  }

  private String read(Process p, String which) throws IOException {
    return Files.readString(
        dir.resolve(which + "-" + outputs.get(p) + ".txt"), StandardCharsets.UTF_8);
  }

  public Result run(String... args) throws Exception {
    return finish(start(args), 120);
  }
}
