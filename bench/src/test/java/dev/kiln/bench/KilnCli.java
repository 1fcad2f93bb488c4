package dev.kiln.bench;

import dev.kiln.engine.testing.TestDb;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real CLI as a separate JVM process against a fresh test database, as a user would. */
final class KilnCli {
  record Result(int exit, String out, String err) {}

  private final Path home;
  private final Path dir;

  KilnCli(Path home, Path dir) {
    this.home = home;
    this.dir = dir;
  }

  Result run(String... args) throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.kiln.engine.cli.Main"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    Map<String, String> env =
        new HashMap<>(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()));
    if (db.password() != null) {
      env.put("KILN_DB_PASSWORD", db.password());
    }
    pb.environment().putAll(env);
    Path out = Files.createTempFile(dir, "out-", ".txt");
    Path err = Files.createTempFile(dir, "err-", ".txt");
    pb.redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = pb.start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kiln did not finish: " + Files.readString(err));
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }
}
