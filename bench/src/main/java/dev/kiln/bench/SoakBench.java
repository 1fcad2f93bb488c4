package dev.kiln.bench;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.EmbeddedServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.StoreException;
import dev.kiln.engine.store.TokenStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "soak",
    mixinStandardHelpOptions = true,
    description = {
      "Soak Kiln under faults: --runs runs of a 10-step chain started through a",
      "'kiln server' process (POST /api/pipelines/soak/runs) and run by two 'kiln worker'",
      "processes, with one worker SIGKILLed after a third of the runs were started and",
      "the embedded PostgreSQL stopped for --outage and started again after two thirds.",
      "Uses a fresh KILN_HOME of its own (its own embedded PostgreSQL), removed at the end.",
      "Prints runs/min, p50/p99 run latency (created to finished, on the database clock),",
      "steps run more than once (must be 0) and runs not finished (must be 0)."
    })
final class SoakBench implements Callable<Integer> {
  @Option(
      names = "--runs",
      defaultValue = "2000",
      description = "runs to start (default ${DEFAULT-VALUE})")
  int runs;

  @Option(
      names = "--in-flight",
      defaultValue = "20",
      description = "runs started and not yet ended at most (default ${DEFAULT-VALUE})")
  int inFlight;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "slots per worker process (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--outage",
      defaultValue = "10",
      description = "seconds PostgreSQL stays down (default ${DEFAULT-VALUE})")
  int outageSeconds;

  static final int STEPS = 10;

  private final List<Process> processes = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (runs < 3 || inFlight < 1 || slots < 1) {
      throw new IllegalArgumentException(
          "--runs must be 3 or more, --in-flight and --slots 1 or more");
    }
    Path home = Files.createTempDirectory("kiln-soak");
    Path ends = home.resolve("ends.txt");
    Path pipelines = Files.createDirectories(home.resolve("pipelines"));
    Files.writeString(pipelines.resolve("soak.yaml"), chain(ends));
    Map<String, String> env = Map.of("KILN_HOME", home.toString());
    EmbeddedServer pg = EmbeddedServer.ensureRunning(home);
    try (Engine engine =
        new Engine(
            KilnConfig.from(env), Database.connect(pg.jdbcUrl(), "postgres", pg.password(), 4))) {
      String token = new TokenStore(engine.db()).create("soak", Role.OPERATOR);
      Process server =
          start(env, "server", "--port", "0", "--slots", "0", "--pipelines", pipelines.toString());
      String base = serverUrl(server);
      List<Process> workers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        workers.add(
            start(env, "worker", "--slots", String.valueOf(slots), "--executor", "process"));
      }
      for (Process w : workers) {
        awaitLine(w.getErrorStream(), " serving ", "a worker");
      }
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest post =
          HttpRequest.newBuilder(URI.create(base + "/api/pipelines/soak/runs"))
              .header("Authorization", "Bearer " + token)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{}"))
              .build();

      long t0 = System.nanoTime();
      int started = 0;
      boolean killed = false;
      boolean restarted = false;
      while (started < runs) {
        if (!killed && started >= runs / 3) {
          workers.get(0).destroyForcibly(); // SIGKILL, mid-steps
          killed = true;
          System.err.printf("soak: worker SIGKILLed after %d runs started%n", started);
        }
        if (!restarted && started >= 2 * runs / 3) {
          EmbeddedServer.stop(home);
          System.err.printf(
              "soak: PostgreSQL stopped after %d runs started, for %d s%n", started, outageSeconds);
          Thread.sleep(outageSeconds * 1000L); // the outage itself
          EmbeddedServer.ensureRunning(home);
          restarted = true;
        }
        Long active = active(engine);
        if (active == null || active >= inFlight) {
          Thread.sleep(20);
          continue;
        }
        HttpResponse<String> r = send(http, post);
        if (r != null && r.statusCode() == 202) {
          started++;
        } else {
          Thread.sleep(200); // the store or server is back soon; try again
        }
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (System.nanoTime() < deadline) {
        Long active = active(engine);
        if (active != null && active == 0) {
          break;
        }
        Thread.sleep(100);
      }
      double minutes = Measure.secondsSince(t0) / 60;
      report(engine, ends, started, minutes);
    } finally {
      for (Process p : processes) {
        p.destroy();
      }
      for (Process p : processes) {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      EmbeddedServer.stop(home);
      ArtifactStore.deleteTree(home);
    }
    return Main.OK;
  }

  private void report(Engine engine, Path ends, int started, double minutes) throws IOException {
    List<Double> latencies =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        """
                        select extract(epoch from finished_at - created_at) * 1000 from runs
                         where pipeline = 'soak' and status = 'succeeded'""",
                        rs -> rs.getDouble(1)));
    long notFinished =
        count(engine, "select count(*) from runs where pipeline = 'soak' and status <> 'succeeded'")
            + (started - count(engine, "select count(*) from runs where pipeline = 'soak'"));
    long succeededTwice =
        count(
            engine,
            """
            select count(*) from (select task_id from task_attempts where status = 'succeeded'
                                   group by task_id having count(*) > 1) x""");
    // Each step appends "RUN STEP ATTEMPT" when its command ends. A step whose command ended in
    // two attempts ran twice, unless the earlier attempt was lost with the SIGKILLed worker:
    // a command that finished just before its worker died runs again (at least once, see
    // docs/architecture.md "Faults"); that is counted apart.
    Map<String, Set<String>> attempts = new HashMap<>();
    for (String line : Files.readAllLines(ends)) {
      String[] f = line.split(" ");
      attempts.computeIfAbsent(f[0] + " " + f[1], k -> new HashSet<>()).add(f[2]);
    }
    long twice = 0;
    long afterKill = 0;
    for (var e : attempts.entrySet()) {
      if (e.getValue().size() > 1) {
        String[] rs = e.getKey().split(" ");
        long lost =
            count(
                engine,
                """
                select count(*) from task_attempts a join tasks t on t.id = a.task_id
                 where t.run_id = ? and t.step_id = ? and a.status = 'lost'""",
                Long.parseLong(rs[0]),
                rs[1]);
        if (lost > 0) {
          afterKill++;
        } else {
          twice++;
        }
      }
    }
    System.out.printf(
        "%d runs of a %d-step chain, 2 workers x %d slots, one SIGKILLed, PostgreSQL down %d s:%n",
        started, STEPS, slots, outageSeconds);
    System.out.printf("  runs/min              %.0f%n", started / minutes);
    if (!latencies.isEmpty()) {
      System.out.printf(
          "  run latency           p50 %.0f ms, p99 %.0f ms%n",
          Measure.percentile(latencies, 50), Measure.percentile(latencies, 99));
    }
    System.out.printf("  steps run more than once  %d (must be 0)%n", twice + succeededTwice);
    System.out.printf(
        "  steps re-run after their worker was SIGKILLed (attempt lost)  %d%n", afterKill);
    System.out.printf("  runs not finished     %d (must be 0)%n", notFinished);
  }

  private static long count(Engine engine, String sql, Object... args) {
    return engine
        .db()
        .tx()
        .inTransaction(c -> Sql.one(c, sql, rs -> rs.getLong(1), args).orElseThrow());
  }

  /** Runs of the soak pipeline not ended yet; null while the store is away. */
  private static Long active(Engine engine) {
    try {
      return count(
          engine,
          "select count(*) from runs where pipeline = 'soak' and status in ('queued', 'running')");
    } catch (StoreException e) {
      return null;
    }
  }

  private static HttpResponse<String> send(HttpClient http, HttpRequest post)
      throws InterruptedException {
    try {
      return http.send(post, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    }
  }

  /** A chain of {@link #STEPS} steps, each appending "RUN STEP ATTEMPT" to {@code ends}. */
  static String chain(Path ends) {
    StringBuilder y = new StringBuilder("name: soak\nsteps:\n");
    for (int i = 0; i < STEPS; i++) {
      y.append("  s").append(i).append(":\n");
      if (i > 0) {
        y.append("    needs: [s").append(i - 1).append("]\n");
      }
      y.append("    run: echo \"$KILN_RUN_ID $KILN_STEP $KILN_ATTEMPT\" >> ")
          .append(ends)
          .append('\n');
    }
    return y.toString();
  }

  private Process start(Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("KILN_DB_URL");
    pb.environment().putAll(env);
    if (args[0].equals("worker")) {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD); // it says what matters on stderr
    }
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private static String serverUrl(Process server) throws IOException {
    String line = awaitLine(server.getInputStream(), "listening on http://", "the server");
    String url = line.substring(line.indexOf("http://")).split(" ")[0];
    drain(server.getErrorStream());
    return url;
  }

  /** Reads until a line containing {@code marker}, then drains the rest in the background. */
  private static String awaitLine(InputStream in, String marker, String what) throws IOException {
    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null && !line.contains(marker)) {
      // start-up lines
    }
    if (line == null) {
      throw new IllegalStateException(what + " exited before it served");
    }
    drain(in);
    return line;
  }

  private static void drain(InputStream in) {
    KilnProcess.drain("soak-drain", new InputStreamReader(in, StandardCharsets.UTF_8));
  }
}
