package dev.kiln.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.daemon.Daemon;
import dev.kiln.engine.daemon.DaemonClient;
import dev.kiln.engine.daemon.Request;
import dev.kiln.engine.testing.Await;
import dev.kiln.engine.testing.TestDb;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln daemon} for real: the {@code kiln} launcher (bash) in a small tree whose kiln.jar is
 * this module's class path, a daemon process on loopback, a real store. Every answer through the
 * daemon must equal the direct path's (KILN_DAEMON=0) byte for byte, with the same exit code.
 */
class DaemonCommandTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  @TempDir Path dir;
  private Path kiln;
  private Path home;
  private Path work;
  private final Map<String, String> env = new HashMap<>();

  record Result(int code, String out, String err) {}

  @BeforeEach
  void smallTree() throws IOException {
    Path root = dir.resolve("kiln");
    Files.createDirectories(root.resolve("deploy/target"));
    kiln = root.resolve("kiln");
    Files.copy(ROOT.resolve("kiln"), kiln, StandardCopyOption.COPY_ATTRIBUTES);
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Main.class.getName());
    m.getMainAttributes()
        .put(
            Attributes.Name.CLASS_PATH,
            Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> Path.of(p).toUri().toString())
                .collect(Collectors.joining(" ")));
    try (OutputStream f = Files.newOutputStream(root.resolve("deploy/target/kiln.jar"));
        JarOutputStream jar = new JarOutputStream(f, m)) {
      // the manifest alone: the classes are this module's
    }
    home = dir.resolve("home");
    work = dir.resolve("work");
    Files.createDirectories(work);
    Files.writeString(work.resolve("ok.yaml"), "name: hello\nsteps:\n  a:\n    run: echo hi\n");
    Files.writeString(work.resolve("bad.yaml"), "name: bad\nsteps:\n  a:\n    rnu: echo hi\n");
    TestDb.Url db = TestDb.freshUrl();
    env.put("KILN_HOME", home.toString());
    env.put("KILN_DB_URL", db.url());
    env.put("KILN_DB_USER", db.user());
    if (db.password() != null) {
      env.put("KILN_DB_PASSWORD", db.password());
    }
    env.put("KILN_CDS", "0"); // no class-data archive made in the background
    env.put("KILN_DAEMON", "manual"); // only the daemon a test starts, unless it says otherwise
  }

  @AfterEach
  void stopDaemon() throws Exception {
    DaemonClient.of(home)
        .ifPresent(
            d -> {
              d.stop();
              ProcessHandle.of(d.pid()).ifPresent(ProcessHandle::destroyForcibly);
            });
  }

  @Test
  void readOnlyCommandsAnswerAsTheDirectPathDoes() throws Exception {
    assertThat(kiln(Map.of(), "runs").out()).contains("no runs yet"); // migrates the store
    start();
    List<List<String>> calls =
        List.of(
            List.of("runs"),
            List.of("runs", "--json"),
            List.of("validate", "ok.yaml"),
            List.of("validate", "bad.yaml", "ok.yaml"),
            List.of("validate", "missing.yaml"),
            List.of("runs", "show", "99"),
            List.of("logs", "99"),
            List.of("models", "list"),
            List.of("--help"),
            List.of("runs", "--help"),
            List.of("runs", "--limit", "x"));
    for (List<String> call : calls) {
      String[] args = call.toArray(String[]::new);
      Result direct = kiln(Map.of("KILN_DAEMON", "0"), args);
      Result daemon = kiln(Map.of(), args);
      assertThat(daemon).as(String.join(" ", call)).isEqualTo(direct);
    }
    assertThat(kiln(Map.of(), "validate", "ok.yaml").out())
        .isEqualTo("ok.yaml: ok (hello, 1 steps)\n");
    assertThat(kiln(Map.of(), "validate", "bad.yaml"))
        .satisfies(r -> assertThat(r.code()).isEqualTo(Main.USAGE))
        .satisfies(r -> assertThat(r.err()).contains("bad.yaml:4:5: unknown key 'rnu'"));
    assertThat(kiln(Map.of(), "runs", "show", "99").code()).isEqualTo(Main.USAGE);
    // It answered them: all but the bad --limit, which the direct path reports.
    assertThat(kiln(Map.of(), "daemon", "status").out()).contains("served " + (calls.size() + 3));
  }

  @Test
  void writesAndWaitsAreNeverAnswered() throws Exception {
    kiln(Map.of(), "runs");
    start();
    DaemonClient d = DaemonClient.of(home).orElseThrow();
    Map<String, String> callerEnv = new HashMap<>(env);
    for (List<String> call :
        List.of(
            List.of("run", "ok.yaml"),
            List.of("logs", "1", "--follow"),
            List.of("runs", "tag", "1", "a=b"),
            List.of("models", "promote", "m", "1", "--alias", "production"),
            List.of("db", "stop"),
            List.of("daemon", "stop"))) {
      assertThat(d.run(new Request(work, false, call, callerEnv))).as(call.toString()).isEmpty();
    }
    // A caller with another KILN_HOME is not this daemon's either.
    callerEnv.put("KILN_HOME", dir.resolve("elsewhere").toString());
    assertThat(d.run(new Request(work, false, List.of("runs"), callerEnv))).isEmpty();
    assertThat(d.status()).isPresent();
  }

  @Test
  void aWrongSecretGetsNothing() throws Exception {
    start();
    DaemonClient d = DaemonClient.of(home).orElseThrow();
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), d.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(("0".repeat(d.secret().length()) + "\n").getBytes(StandardCharsets.UTF_8));
      out.write("status\0".getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      assertThat(in.read()).as("closed without a byte").isEqualTo(-1);
    }
    DaemonClient wrong = new DaemonClient(d.port(), "x" + d.secret(), d.key(), d.pid());
    assertThat(wrong.status()).isEmpty();
    assertThat(d.status()).isPresent();
  }

  @Test
  void withTheDaemonGoneTheLauncherRunsJava() throws Exception {
    kiln(Map.of(), "runs");
    start();
    DaemonClient d = DaemonClient.of(home).orElseThrow();
    Result before = kiln(Map.of(), "runs", "show", "99");
    ProcessHandle process = ProcessHandle.of(d.pid()).orElseThrow();
    process.destroyForcibly(); // its file stays behind, naming a port nobody listens on
    Await.until("the daemon gone", Duration.ofSeconds(30), () -> !process.isAlive());
    assertThat(home.resolve(Daemon.FILE)).exists();
    assertThat(kiln(Map.of(), "runs", "show", "99")).isEqualTo(before);
    assertThat(kiln(Map.of(), "validate", "ok.yaml").code()).isZero();
    assertThat(kiln(Map.of(), "daemon", "status").code()).isEqualTo(Main.FAILED);
  }

  /**
   * By default (KILN_DAEMON unset or auto) a read-only call that found no daemon is answered
   * directly and, once it has ended, starts one in the background that answers the calls after it;
   * a call with another build's daemon file starts one for this build.
   */
  @Test
  void aReadOnlyCallLeavesADaemonForTheNextOnes() throws Exception {
    Map<String, String> auto = Map.of("KILN_DAEMON", "auto");
    Result first = kiln(auto, "runs");
    assertThat(first.out()).contains("no runs yet");
    DaemonClient d = awaitDaemon();
    assertThat(kiln(auto, "runs")).isEqualTo(first);
    assertThat(d.status().orElseThrow()).contains("served 1");

    // A rebuilt kiln.jar: the daemon of the old build is not asked, and one for this build starts.
    assertThat(kiln(auto, "daemon", "stop").code()).isZero();
    Files.writeString(home.resolve(Daemon.FILE), "1 secret 0-0 1\n");
    assertThat(kiln(auto, "runs")).isEqualTo(first);
    DaemonClient again = awaitDaemon();
    assertThat(again.pid()).isNotEqualTo(d.pid());
    assertThat(kiln(auto, "validate", "ok.yaml").out()).isEqualTo("ok.yaml: ok (hello, 1 steps)\n");
    assertThat(again.status().orElseThrow()).contains("served 1");
  }

  private DaemonClient awaitDaemon() throws Exception {
    Await.until(
        "a daemon started by the launcher",
        Duration.ofSeconds(120),
        () ->
            DaemonClient.of(home)
                .filter(c -> !c.key().equals("0-0"))
                .flatMap(DaemonClient::status)
                .isPresent());
    return DaemonClient.of(home).orElseThrow();
  }

  @Test
  void stopEndsItAndRemovesItsFile() throws Exception {
    start();
    DaemonClient d = DaemonClient.of(home).orElseThrow();
    assertThat(kiln(Map.of(), "daemon", "stop").out()).contains("stopped (pid " + d.pid() + ")");
    assertThat(ProcessHandle.of(d.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(home.resolve(Daemon.FILE)).doesNotExist();
    assertThat(kiln(Map.of(), "daemon", "status").out()).contains("not running");
  }

  @Test
  void itEndsWhenItsFileGoesAway() throws Exception {
    start();
    DaemonClient d = DaemonClient.of(home).orElseThrow();
    Files.delete(home.resolve(Daemon.FILE));
    ProcessHandle process = ProcessHandle.of(d.pid()).orElseThrow();
    Await.until("the daemon to end", Duration.ofSeconds(30), () -> !process.isAlive());
  }

  private void start() throws Exception {
    Result r = kiln(Map.of(), "daemon", "start");
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(r.out()).contains("kiln daemon: running (pid ");
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(home.resolve(Daemon.FILE))))
        .isEqualTo("rw-------");
  }

  private Result kiln(Map<String, String> extra, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(kiln.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
    pb.environment().remove("KILN_JAVA_OPTS");
    pb.environment().remove("KILN_DAEMON");
    pb.environment().putAll(env);
    pb.environment().putAll(extra);
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    p.getOutputStream().close();
    assertThat(p.waitFor(180, TimeUnit.SECONDS)).as(String.join(" ", args)).isTrue();
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }
}
