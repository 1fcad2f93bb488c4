package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.daemon.Wire;
import dev.kiln.engine.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code kiln} launcher's class-data sharing: the archive is made in the background after a
 * first call, used by later ones, never used when its recorded size does not match (a truncated
 * file), and made again then, and made again once the store is up if it was made without it. The
 * launcher runs for real (bash, java) on a small jar whose main prints the JVM options it was
 * given.
 */
class LauncherTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /** How long the launcher's background archive maker may take. */
  private static final Duration WITHIN = Duration.ofSeconds(120);

  private static final Pattern RELEASE_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)");
  private static final String MAIN =
      """
      public class Echo {
        public static void main(String[] args) throws Exception {
          String log = System.getenv("ECHO_LOG");
          if (log != null) {
            java.nio.file.Files.writeString(java.nio.file.Path.of(log),
                String.join(" ", args) + "\\n", java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
          }
          System.out.println(String.join(" ", args) + " | "
              + String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean()
                  .getInputArguments())
              + " | java " + Runtime.version().feature());
        }
      }
      """;

  @TempDir Path dir;
  private Path root;
  private Path home;

  @BeforeEach
  void smallKiln() throws IOException {
    root = dir.resolve("kiln");
    home = dir.resolve("home");
    Files.createDirectories(root.resolve("deploy/target"));
    Files.copy(ROOT.resolve("kiln"), root.resolve("kiln"), StandardCopyOption.COPY_ATTRIBUTES);
    Path src = dir.resolve("Echo.java");
    Files.writeString(src, MAIN);
    int rc =
        ToolProvider.getSystemJavaCompiler()
            .run(null, null, null, "-d", dir.toString(), src.toString());
    assertThat(rc).as("javac Echo.java").isZero();
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Echo");
    try (OutputStream file = Files.newOutputStream(root.resolve("deploy/target/kiln.jar"));
        JarOutputStream jar = new JarOutputStream(file, manifest)) {
      jar.putNextEntry(new JarEntry("Echo.class"));
      jar.write(Files.readAllBytes(dir.resolve("Echo.class")));
      jar.closeEntry();
    }
  }

  @Test
  void archiveIsMadeAfterTheFirstCallAndUsedByTheNext() throws Exception {
    String first = kiln(Map.of(), "runs");
    assertThat(first).startsWith("runs | ").doesNotContain("SharedArchiveFile");
    assertThat(first).contains("-XX:TieredStopAtLevel=1"); // a read-only command
    Path archive = awaitArchive();
    assertThat(Files.readString(sizeFile(archive)).trim())
        .isEqualTo(String.valueOf(Files.size(archive)));

    assertThat(kiln(Map.of(), "runs")).contains("-XX:SharedArchiveFile=" + archive);
    assertThat(kiln(Map.of("KILN_CDS", "0"), "runs")).doesNotContain("SharedArchiveFile");
    assertThat(kiln(Map.of(), "server")).doesNotContain("TieredStopAtLevel");
    assertThat(kiln(Map.of(), "drift"))
        .contains("-XX:+UseSerialGC -XX:PretenureSizeThreshold=131072")
        .doesNotContain("TieredStopAtLevel");
  }

  /**
   * {@code kiln drift} runs on the newest JDK of 22 or later under /usr/lib/jvm (its vectorised
   * sort), with native access allowed for DuckDB; other commands and KILN_JAVA keep their java.
   */
  @Test
  void driftTakesTheNewestJdkFrom22On() throws Exception {
    int newest = 0;
    Path newestJava = null;
    try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
      for (Path jdk : jdks.toList()) {
        Path release = jdk.resolve("release");
        if (!Files.isExecutable(jdk.resolve("bin/java")) || !Files.isRegularFile(release)) {
          continue;
        }
        Matcher m = RELEASE_VERSION.matcher(Files.readString(release));
        if (m.find() && Integer.parseInt(m.group(1)) > newest) {
          newest = Integer.parseInt(m.group(1));
          newestJava = jdk.resolve("bin/java");
        }
      }
    }
    String defaultJava = "java " + Runtime.version().feature();
    String drift = kiln(Map.of(), "drift");
    if (newest >= 22 && newest > Runtime.version().feature()) {
      assertThat(drift).endsWith("| java " + newest).contains("--enable-native-access=ALL-UNNAMED");
      assertThat(kiln(Map.of("KILN_JAVA", newestJava.toString()), "runs"))
          .endsWith("| java " + newest)
          .contains("--enable-native-access=ALL-UNNAMED");
    } else {
      assertThat(drift).endsWith("| " + defaultJava);
    }
    assertThat(kiln(Map.of(), "runs")).endsWith("| " + defaultJava);
    String self = ProcessHandle.current().info().command().orElseThrow();
    assertThat(kiln(Map.of("KILN_JAVA", self), "drift")).endsWith("| " + defaultJava);
    assertThat(run(Map.of("KILN_JAVA", dir.resolve("no-java").toString()), 3, "drift"))
        .isEqualTo(
            "kiln: no java to run: '"
                + dir.resolve("no-java")
                + "' is not an executable (set KILN_JAVA or PATH)");
  }

  @Test
  void aTruncatedArchiveIsNeverUsedAndIsMadeAgain() throws Exception {
    kiln(Map.of(), "runs");
    Path archive = awaitArchive();
    long size = Files.size(archive);
    try (var ch = Files.newByteChannel(archive, StandardOpenOption.WRITE)) {
      ch.truncate(size / 2);
    }
    assertThat(kiln(Map.of(), "runs")).doesNotContain("SharedArchiveFile");
    Await.until("the archive made again", WITHIN, () -> Files.size(archive) == size);
    assertThat(Files.size(archive)).as("archive made again at full size").isEqualTo(size);
    assertThat(kiln(Map.of(), "runs")).contains("-XX:SharedArchiveFile=" + archive);
  }

  @Test
  void anArchiveMadeWithoutTheStoreIsMadeAgainOnceTheStoreIsUp() throws Exception {
    kiln(Map.of(), "runs");
    Path withoutStore = awaitArchive();
    assertThat(withoutStore.getFileName().toString()).endsWith("-nodb.jsa");
    // The embedded server's pid file: the store is up, so warm-up would run the read commands.
    Files.createDirectories(home.resolve("pgdata"));
    Files.writeString(home.resolve("pgdata/postmaster.pid"), "1\n");
    assertThat(kiln(Map.of(), "runs")).contains("-XX:SharedArchiveFile=" + withoutStore);
    Path withStore =
        withoutStore.resolveSibling(
            withoutStore.getFileName().toString().replace("-nodb.jsa", "-db.jsa"));
    Await.until(
        "the archive without the store replaced", WITHIN, () -> !Files.exists(withoutStore));
    assertThat(withoutStore).as("replaced by the archive made with the store").doesNotExist();
    assertThat(Files.readString(sizeFile(withStore)).trim())
        .isEqualTo(String.valueOf(Files.size(withStore)));
    assertThat(kiln(Map.of(), "runs")).contains("-XX:SharedArchiveFile=" + withStore);
  }

  /**
   * After the daemon's first line the launcher has committed to its answer: a whole answer is
   * printed with its exit code; one cut short (the daemon died while writing, no closing "end")
   * exits 1 with a one-line error and is not run again through java. The daemon here is a socket of
   * the test's that answers as a real one would, then stops where the test says.
   */
  @Test
  void anAnswerCutShortByTheDaemonIsAnErrorNotASuccess() throws Exception {
    String whole = "a whole answer\n";
    assertThat(runWithDaemon("kiln-daemon\n7 " + whole.length() + " 0\n" + whole + "end\n", 7))
        .isEqualTo("a whole answer");
    String cut = "the first half of an answ";
    String out = runWithDaemon("kiln-daemon\n0 200 0\n" + cut, 1);
    assertThat(out)
        .startsWith(cut + "kiln: the daemon (pid 4242) stopped in the middle of its answer")
        .doesNotContain("runs |"); // not run again through java (Echo prints its arguments)
    assertThat(out.lines()).hasSize(1);
  }

  /**
   * With KILN_DAEMON=auto and a store up, a read-only call that found no daemon starts one once it
   * has ended; a start that leaves no daemon (this jar's main only prints) is written down, so that
   * further calls do not try again while that note is under 10 minutes old.
   */
  @Test
  void aDaemonStartThatLeavesNoDaemonIsNotRepeated() throws Exception {
    Files.createDirectories(home.resolve("pgdata"));
    Files.writeString(home.resolve("pgdata/postmaster.pid"), "1\n");
    Path log = dir.resolve("echo.log");
    Map<String, String> env =
        Map.of("KILN_DAEMON", "auto", "KILN_CDS", "0", "ECHO_LOG", log.toString());
    assertThat(kiln(env, "runs")).startsWith("runs | ");
    Path failed = home.resolve(".daemon-failed");
    Await.until("the launcher's daemon start, failed", WITHIN, () -> Files.exists(failed));
    assertThat(Files.readAllLines(log)).containsExactly("runs", "daemon start");
    assertThat(Files.readString(failed)).contains("left no daemon");
    Await.until(
        "the start's lock let go", WITHIN, () -> !Files.exists(home.resolve(".daemon-starting")));
  }

  private String runWithDaemon(String answer, int exit) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path jar = root.resolve("deploy/target/kiln.jar");
      String key = Files.size(jar) + "-" + Files.getLastModifiedTime(jar).to(TimeUnit.SECONDS);
      Files.createDirectories(home);
      Files.writeString(
          home.resolve("daemon"), server.getLocalPort() + " s3cret " + key + " 4242\n");
      CompletableFuture<String> request =
          CompletableFuture.supplyAsync(
              () -> {
                try (Socket s = server.accept()) {
                  InputStream in = s.getInputStream();
                  String secret = Wire.line(in);
                  s.getOutputStream().write(answer.getBytes(StandardCharsets.UTF_8));
                  s.shutdownOutput();
                  in.readAllBytes(); // until the launcher exits: no reset over unread bytes
                  return secret;
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
      String out = run(Map.of(), exit, "runs");
      assertThat(request.get(60, TimeUnit.SECONDS)).isEqualTo("s3cret");
      return out;
    }
  }

  private Path awaitArchive() throws Exception {
    Path cds = home.resolve("cds");
    List<Path> ready = new ArrayList<>();
    Await.until(
        "a class-data archive in " + cds,
        WITHIN,
        () -> {
          if (!Files.isDirectory(cds)) {
            return false;
          }
          try (Stream<Path> files = Files.list(cds)) {
            files
                .filter(p -> p.getFileName().toString().endsWith(".jsa"))
                .filter(p -> Files.exists(sizeFile(p)))
                .forEach(ready::add);
          }
          return !ready.isEmpty();
        });
    return ready.get(0);
  }

  private static Path sizeFile(Path archive) {
    return archive.resolveSibling(archive.getFileName() + ".size");
  }

  private String kiln(Map<String, String> env, String... args) throws Exception {
    return run(env, 0, args);
  }

  /** The launcher's output (stdout and stderr), asserting its exit code. */
  private String run(Map<String, String> env, int exit, String... args) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(
            Stream.concat(Stream.of(root.resolve("kiln").toString()), Stream.of(args)).toList());
    pb.environment().put("KILN_HOME", home.toString());
    pb.environment().remove("KILN_JAVA_OPTS");
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isEqualTo(exit);
    return out.trim();
  }
}
