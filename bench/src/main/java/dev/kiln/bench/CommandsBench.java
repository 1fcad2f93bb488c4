package dev.kiln.bench;

import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.daemon.DaemonClient;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench commands}: the commands people type all day, through the {@code kiln} launcher
 * as they type them, against {@code java -version} timed in the same rounds (issue 18's target: at
 * most 3x). The store is the one of the environment (KILN_DB_URL or the embedded one, started
 * before timing); one small run is made first so that {@code runs show} and {@code logs} have
 * something to show. Each command is timed twice per round: on the direct path ({@code
 * KILN_DAEMON=0}) and through {@code kiln daemon} (started for the benchmark unless one runs, and
 * stopped after it).
 */
@Command(
    name = "commands",
    mixinStandardHelpOptions = true,
    description = {
      "Time read-only commands through the kiln launcher against 'java -version'",
      "in the same rounds (target: at most 3x): directly (KILN_DAEMON=0) and",
      "through 'kiln daemon' (started for the benchmark unless one runs)."
    })
final class CommandsBench implements Callable<Integer> {
  private static final String PIPELINE =
      """
      name: bench-commands
      steps:
        hello:
          run: echo hello from bench-commands
      """;
  private static final Pattern RUN_ID = Pattern.compile("\\brun (\\d+)\\b");
  private static final Pattern SERVED = Pattern.compile("\\bserved (\\d+)\\b");

  /** The launcher's direct path: java, whether or not a daemon runs. */
  private static final Map<String, String> DIRECT = Map.of("KILN_DAEMON", "0");

  @Option(names = "--rounds", defaultValue = "10", description = "timed rounds (default 10)")
  int rounds;

  @Option(
      names = "--kiln",
      paramLabel = "PATH",
      description = "the launcher to time (default: ./kiln, else the one beside kiln.jar's tree)")
  Path launcher;

  @Option(
      names = "--lineage",
      paramLabel = "NAME@VERSION",
      description = "also time 'kiln lineage NAME@VERSION' (a registered model)")
  String lineage;

  @Override
  public Integer call() throws Exception {
    Path kiln = launcher != null ? launcher : defaultLauncher();
    if (!Files.isExecutable(kiln)) {
      System.err.println("kiln bench commands: no executable launcher at " + kiln + " (--kiln)");
      return Main.USAGE;
    }
    Path dir = Files.createTempDirectory("kiln-bench-commands");
    Path file = dir.resolve("bench-commands.yaml");
    Files.writeString(file, PIPELINE);
    String made = run(kiln, List.of("run", file.toString()));
    Matcher m = RUN_ID.matcher(made);
    if (!m.find()) {
      System.err.println("kiln bench commands: could not read the run id from: " + made);
      return Main.INTERNAL;
    }
    String id = m.group(1);
    run(kiln, List.of("--version")); // a short command: the launcher makes its archive after one
    awaitArchive();

    Map<String, List<String>> commands = new LinkedHashMap<>();
    commands.put("--help", List.of("--help"));
    commands.put("validate", List.of("validate", file.toString()));
    commands.put("runs", List.of("runs"));
    commands.put("runs show", List.of("runs", "show", id));
    commands.put("logs", List.of("logs", id, "hello"));
    commands.put("models list", List.of("models", "list"));
    commands.put("datasets", List.of("datasets"));
    if (lineage != null) {
      commands.put("lineage", List.of("lineage", lineage));
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path home = KilnConfig.fromEnvironment().home();
    boolean ours = DaemonClient.of(home).flatMap(DaemonClient::status).isEmpty();
    run(kiln, List.of("daemon", "start"));
    long servedBefore = served(home);
    List<Double> javaVersion = new ArrayList<>();
    List<Double> shTrue = new ArrayList<>();
    Map<String, List<Double>> direct = new LinkedHashMap<>();
    Map<String, List<Double>> daemon = new LinkedHashMap<>();
    commands.keySet().forEach(k -> direct.put(k, new ArrayList<>()));
    commands.keySet().forEach(k -> daemon.put(k, new ArrayList<>()));
    try {
      for (int r = 0; r < rounds; r++) {
        javaVersion.add(Measure.millis(() -> run(Path.of(java), List.of("-version"))));
        shTrue.add(Measure.millis(() -> run(Path.of("/bin/sh"), List.of("-c", "true"))));
        for (var c : commands.entrySet()) {
          direct.get(c.getKey()).add(Measure.millis(() -> run(kiln, c.getValue(), DIRECT)));
          daemon.get(c.getKey()).add(Measure.millis(() -> run(kiln, c.getValue())));
        }
      }
    } finally {
      long answered = served(home) - servedBefore;
      if (ours) {
        run(kiln, List.of("daemon", "stop"));
      }
      System.out.printf(
          "the daemon answered %d of %d calls meant for it%n",
          answered, (long) rounds * commands.size());
    }
    double base = Measure.median(javaVersion);
    System.out.printf(
        "%d rounds; sh -c true %.1f ms, java -version %.0f ms (medians); target <= 3.00x%n",
        rounds, Measure.median(shTrue), base);
    System.out.printf(
        "%-14s %10s %8s %10s %8s%n", "command", "direct ms", "x java", "daemon ms", "x java");
    int metDirect = 0;
    int metDaemon = 0;
    for (String k : commands.keySet()) {
      double d = Measure.median(direct.get(k));
      double w = Measure.median(daemon.get(k));
      metDirect += d <= 3 * base ? 1 : 0;
      metDaemon += w <= 3 * base ? 1 : 0;
      System.out.printf(
          "%-14s %10.0f %8s %10.0f %8s%n", k, d, Measure.ratio(d, base), w, Measure.ratio(w, base));
    }
    System.out.printf(
        "direct (KILN_DAEMON=0): %d of %d commands within 3x java -version%n",
        metDirect, commands.size());
    System.out.printf(
        "through kiln daemon:    %d of %d commands within 3x java -version%n",
        metDaemon, commands.size());
    Files.deleteIfExists(file);
    Files.deleteIfExists(dir);
    return Main.OK;
  }

  /** Waits (up to 3 minutes) for the launcher's class-data archive, made after its first call. */
  private static void awaitArchive() throws Exception {
    if ("0".equals(System.getenv("KILN_CDS"))) {
      System.out.println("class-data sharing off (KILN_CDS=0)");
      return;
    }
    Path cds = KilnConfig.fromEnvironment().home().resolve("cds");
    Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
    while (Instant.now().isBefore(deadline)) {
      if (Files.isDirectory(cds)) {
        try (Stream<Path> files = Files.list(cds)) {
          if (files.anyMatch(p -> p.getFileName().toString().endsWith(".jsa.size"))) {
            System.out.println("class-data archive ready in " + cds);
            return;
          }
        }
      }
      Thread.sleep(200);
    }
    System.out.println("no class-data archive in " + cds + " after 3 minutes: timing without");
  }

  private static Path defaultLauncher() throws Exception {
    Path here = Path.of("kiln");
    if (Files.isExecutable(here)) {
      return here.toAbsolutePath();
    }
    // kiln.jar is deploy/target/kiln.jar in the source tree; the launcher is at its root.
    Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    return jar.getParent().getParent().getParent().resolve("kiln");
  }

  /** How many calls the daemon of {@code home} has answered (0 when none runs). */
  private static long served(Path home) {
    return DaemonClient.of(home)
        .flatMap(DaemonClient::status)
        .map(SERVED::matcher)
        .filter(Matcher::find)
        .map(m -> Long.parseLong(m.group(1)))
        .orElse(0L);
  }

  private static String run(Path program, List<String> args) throws Exception {
    return run(program, args, Map.of());
  }

  private static String run(Path program, List<String> args, Map<String, String> env)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(program.toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    Process p =
        pb.redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
    }
    return out;
  }
}
