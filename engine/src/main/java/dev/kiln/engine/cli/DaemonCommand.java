package dev.kiln.engine.cli;

import dev.kiln.engine.config.Caller;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.daemon.Answer;
import dev.kiln.engine.daemon.Daemon;
import dev.kiln.engine.daemon.DaemonClient;
import dev.kiln.engine.daemon.Request;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.EmbeddedServer;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Ansi;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "daemon",
    mixinStandardHelpOptions = true,
    description = {
      "Keep one warm JVM per KILN_HOME that answers the read-only commands",
      "(runs, runs show|compare, logs without --follow, models list|show|history,",
      "datasets, lineage, validate, --help) for the kiln launcher, which starts one in",
      "the background after a read-only command that found none (KILN_DAEMON=manual:",
      "only 'kiln daemon start' does; KILN_DAEMON=0: never use one). Without it, or when",
      "it cannot be reached, the launcher runs java as always.",
      "It ends after --idle without requests, when kiln.jar changes, or on 'kiln daemon stop'."
    },
    subcommands = {
      DaemonCommand.Start.class,
      DaemonCommand.Stop.class,
      DaemonCommand.Status.class,
      DaemonCommand.Serve.class
    })
final class DaemonCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  static final String DEFAULT_IDLE = "3h";

  private static Path home() {
    return KilnConfig.fromEnvironment().home();
  }

  /**
   * The build this JVM runs from, as the launcher names it ({@code stat -c %s-%Y kiln.jar}): size
   * and modification time of the jar; {@code classes} when run from class folders (tests).
   */
  static String buildKey() {
    String cp = System.getProperty("java.class.path", "");
    Path jar = Path.of(cp);
    if (cp.contains(File.pathSeparator) || !cp.endsWith(".jar")) {
      return "classes";
    }
    try {
      return Files.size(jar) + "-" + Files.getLastModifiedTime(jar).toInstant().getEpochSecond();
    } catch (IOException gone) {
      return "gone";
    }
  }

  @Command(name = "start", description = "Start the daemon of this KILN_HOME unless it runs.")
  static final class Start implements Callable<Integer> {
    @Option(
        names = "--idle",
        defaultValue = DEFAULT_IDLE,
        description = "end after this long without a request (default ${DEFAULT-VALUE})")
    String idle;

    @Override
    public Integer call() throws Exception {
      Duration idleFor = Durations.parse("--idle", idle);
      Path home = home();
      Optional<DaemonClient> running = DaemonClient.of(home);
      if (running.isPresent()
          && running.get().key().equals(buildKey())
          && running.get().status().isPresent()) {
        System.out.println(
            "kiln daemon: already running (pid " + running.get().pid() + ") for " + home);
        return Main.OK;
      }
      Files.createDirectories(home);
      Path log = home.resolve("daemon.log");
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
        cmd.add("/usr/bin/setsid"); // its own session: a closed terminal does not end it
      }
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(List.of("-XX:+UseSerialGC", "-Xss1m", "-Xmx512m", "-XX:-UsePerfData"));
      String opts = Caller.env().getOrDefault("KILN_JAVA_OPTS", "").trim();
      if (!opts.isEmpty()) {
        cmd.addAll(List.of(opts.split("\\s+")));
      }
      cmd.addAll(
          List.of(
              "-cp",
              System.getProperty("java.class.path"),
              Main.class.getName(),
              "daemon",
              "serve",
              "--idle",
              idle));
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile());
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.redirectErrorStream(true);
      pb.environment().clear();
      pb.environment().putAll(Caller.env());
      Process p = pb.start();
      p.getOutputStream().close();
      Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
      while (Instant.now().isBefore(deadline)) {
        Optional<DaemonClient> d = DaemonClient.of(home);
        if (d.isPresent() && d.get().pid() == p.pid()) {
          System.out.println(
              "kiln daemon: running (pid "
                  + p.pid()
                  + ", 127.0.0.1:"
                  + d.get().port()
                  + ") for "
                  + home
                  + "; it ends after "
                  + idleFor.toString().substring(2).toLowerCase(Locale.ROOT)
                  + " idle or with 'kiln daemon stop'");
          return Main.OK;
        }
        if (!p.isAlive()) {
          break;
        }
        Thread.sleep(50);
      }
      p.destroy();
      System.err.println("kiln daemon: it did not start; see " + log);
      return Main.INTERNAL;
    }
  }

  @Command(name = "stop", description = "Stop the daemon of this KILN_HOME if one runs.")
  static final class Stop implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      Path home = home();
      Optional<DaemonClient> d = DaemonClient.of(home);
      if (d.isEmpty()) {
        System.out.println("kiln daemon: not running for " + home);
        return Main.OK;
      }
      if (!d.get().stop()) {
        Files.deleteIfExists(home.resolve(Daemon.FILE));
        System.out.println("kiln daemon: not running (removed its stale file) for " + home);
        return Main.OK;
      }
      Optional<ProcessHandle> process = ProcessHandle.of(d.get().pid());
      Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
      while (process.map(ProcessHandle::isAlive).orElse(false)
          && Instant.now().isBefore(deadline)) {
        Thread.sleep(20);
      }
      System.out.println("kiln daemon: stopped (pid " + d.get().pid() + ")");
      return Main.OK;
    }
  }

  @Command(
      name = "status",
      description = "Whether the daemon of this KILN_HOME runs (exit 0) or not (exit 1).")
  static final class Status implements Callable<Integer> {
    @Override
    public Integer call() {
      Path home = home();
      Optional<DaemonClient> d = DaemonClient.of(home);
      Optional<String> status = d.flatMap(DaemonClient::status);
      if (status.isEmpty()) {
        System.out.println("kiln daemon: not running for " + home);
        return Main.FAILED;
      }
      boolean current = d.get().key().equals(buildKey());
      System.out.println(
          "kiln daemon: running for "
              + home
              + ": "
              + status.get()
              + (current ? "" : " (kiln.jar changed: it is ending)"));
      return Main.OK;
    }
  }

  /** The daemon itself, started by {@code kiln daemon start}. */
  @Command(name = "serve", hidden = true, description = "Be the daemon (kiln daemon start).")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--idle", defaultValue = DEFAULT_IDLE)
    String idle;

    @Override
    public Integer call() throws Exception {
      Duration idleFor = Durations.parse("--idle", idle);
      Path home = home();
      String key = buildKey();
      PrintStream log = System.err;
      Database.keepCommandConnections(); // one login per store, not one per command
      new WarmUpCommand().call(); // classes loaded and compiled before the first request
      Daemon d =
          new Daemon(home, key, DaemonCommand::buildKey, idleFor, new Answering(home)::answer, log)
              .start();
      log.println(Instant.now() + " kiln daemon: serving " + home + " on 127.0.0.1:" + d.port());
      String why = d.awaitEnd();
      log.println(Instant.now() + " kiln daemon: ended: " + why);
      return Main.OK;
    }
  }

  /** Answers the read-only commands of callers whose process-wide settings match this JVM's. */
  static final class Answering {
    /**
     * Settings a JVM fixes at its start (the secret-key box, JVM options, logging, charset, time
     * zone): a caller whose differ runs the command itself.
     */
    private static final Set<String> PROCESS_WIDE =
        Set.of(
            "KILN_SECRET_KEY",
            "KILN_JAVA_OPTS",
            "KILN_LOG_LEVEL",
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "TZ");

    private static final Set<String> NO_STORE =
        Set.of("validate", "help", "-h", "--help", "-V", "--version");

    private final Path home;

    Answering(Path home) {
      this.home = home;
    }

    /** One request at a time: System.out, System.err and {@link Caller} are process-wide. */
    synchronized Answer answer(Request r) throws Exception {
      Map<String, String> mine = System.getenv();
      for (String k : PROCESS_WIDE) {
        if (!Objects.equals(mine.get(k), r.env().get(k))) {
          return null;
        }
      }
      KilnConfig caller;
      try {
        caller = KilnConfig.from(Caller.resolved(r.cwd(), r.env()));
      } catch (ConfigException bad) {
        return null; // the direct path explains
      }
      if (!caller.home().equals(home) || !Main.readOnly(r.args())) {
        return null;
      }
      boolean store = !r.args().isEmpty() && !NO_STORE.contains(r.args().get(0));
      if (store && caller.dbUrl() == null && !EmbeddedServer.running(home)) {
        return null; // starting the store is the direct path's work
      }
      return run(r);
    }

    /** The call with System.out and System.err swapped for buffers of its own. */
    private static Answer run(Request r) throws Exception {
      Charset cs = Charset.defaultCharset();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      PrintStream oldOut = System.out;
      PrintStream oldErr = System.err;
      try (PrintStream o = new PrintStream(out, true, cs);
          PrintStream e = new PrintStream(err, true, cs)) {
        System.setOut(o);
        System.setErr(e);
        int code =
            Caller.as(
                r.cwd(), r.env(), () -> Main.execute(ansi(r), r.args().toArray(String[]::new)));
        o.flush();
        e.flush();
        return new Answer(code, out.toByteArray(), err.toByteArray());
      } finally {
        System.setOut(oldOut);
        System.setErr(oldErr);
      }
    }

    /** Colour as picocli would choose it in the caller's terminal (no-color.org, CLICOLOR). */
    private static Ansi ansi(Request r) {
      Map<String, String> env = r.env();
      String force = env.get("CLICOLOR_FORCE");
      if (env.containsKey("NO_COLOR")) {
        return Ansi.OFF;
      }
      if (force != null && !force.equals("0")) {
        return Ansi.ON;
      }
      return r.terminal() && !"0".equals(env.get("CLICOLOR")) ? Ansi.ON : Ansi.OFF;
    }
  }
}
