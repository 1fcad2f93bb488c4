package dev.kiln.steps.features;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kiln bench features}: the point-in-time training set against DuckDB's ASOF JOIN written by
 * hand and pandas {@code merge_asof} on the same generated data (each in its own process, with its
 * peak memory), then materialization rows/s and online lookups through the server on loopback. See
 * docs/benchmarks.md.
 */
@Command(
    name = "features",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark the feature store (point-in-time join, materialization, online lookup).")
public final class BenchFeaturesCommand implements Callable<Integer> {
  static final int VIEWS = 3;
  static final int FEATURES = 7;

  @Spec CommandSpec spec;

  @Option(names = "--entities", defaultValue = "1000000", description = "entity rows")
  long entities;

  @Option(
      names = "--feature-rows",
      defaultValue = "10000000",
      description = "feature rows, all views")
  long featureRows;

  @Option(names = "--keys", defaultValue = "100000", description = "distinct entities")
  long keys;

  @Option(names = "--lookups", defaultValue = "5000", description = "online lookups")
  int lookups;

  @Option(
      names = "--clients",
      defaultValue = "4",
      description = "concurrent HTTP clients for the online lookups")
  int clients;

  @Option(names = "--dir", description = "work folder (default: a temporary one)")
  Path dir;

  @Option(names = "--no-pandas", description = "skip the pandas baseline")
  boolean noPandas;

  @Option(
      names = "--no-offline",
      description = "skip the training-set comparison (online lookups and materialization only)")
  boolean noOffline;

  @Option(
      names = "--warm-up",
      defaultValue = "3000",
      description = "online lookups sent before measuring, so both JVMs have compiled the path")
  int warmUp;

  @Option(names = "--variant", hidden = true)
  String variant;

  /** The online client's URL (variant online-client; the token comes in KILN_TOKEN). */
  @Option(names = "--url", hidden = true)
  String url;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (dir == null) {
      dir = Files.createTempDirectory("kiln-bench-features");
    }
    Files.createDirectories(dir);
    if (ONLINE_CLIENT.equals(variant)) {
      return onlineClient(out);
    }
    if (variant != null) {
      return child(out);
    }
    long t0 = System.nanoTime();
    generate();
    out.printf(
        Locale.ROOT,
        "data: %,d entity rows, %,d feature rows in %d views of %d features, %,d keys (%.1f s to generate)%n",
        entities,
        featureRows,
        VIEWS,
        FEATURES,
        keys,
        secs(t0));
    out.flush();
    if (!noOffline) {
      offline(out);
    }
    online(out);
    out.flush();
    return 0;
  }

  /** Kiln and the hand-written query alternately, twice each, then pandas; ratios by wall time. */
  private void offline(PrintWriter out) throws Exception {
    List<String> results = new ArrayList<>();
    for (int round = 0; round < 2; round++) {
      results.add(runChild("kiln"));
      results.add(runChild("duckdb-asof"));
    }
    if (!noPandas) {
      results.add(pandas());
    }
    for (String r : results) {
      out.println(r);
    }
    out.flush();
  }

  private static double secs(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  static String definitions() {
    StringBuilder y =
        new StringBuilder(
            "kind: features\nentities:\n  customer: { join_keys: [customer_id] }\nsources:\n");
    for (int v = 0; v < VIEWS; v++) {
      y.append("  s")
          .append(v)
          .append(": { path: v")
          .append(v)
          .append(".parquet, timestamp: event_ts, created: created_ts }\n");
    }
    y.append("views:\n");
    for (int v = 0; v < VIEWS; v++) {
      y.append("  v")
          .append(v)
          .append(":\n    entities: [customer]\n    source: s")
          .append(v)
          .append("\n    ttl: 30d\n    features:\n");
      for (int f = 0; f < FEATURES; f++) {
        y.append("      f").append(f).append(": { type: float }\n");
      }
    }
    y.append("services:\n  bench: [");
    int n = 0;
    for (int v = 0; v < VIEWS; v++) {
      for (int f = 0; f < FEATURES && n < 20; f++, n++) {
        y.append(n == 0 ? "" : ", ").append("v").append(v).append(":f").append(f);
      }
    }
    return y.append("]\n").toString();
  }

  private void generate() throws Exception {
    Files.writeString(dir.resolve("features.yaml"), definitions());
    try (FeatureTables t = FeatureTables.open(null);
        Statement st = t.connection().createStatement()) {
      st.execute("select setseed(0.42)");
      long per = featureRows / VIEWS;
      for (int v = 0; v < VIEWS; v++) {
        StringBuilder cols = new StringBuilder();
        for (int f = 0; f < FEATURES; f++) {
          cols.append(", random() as f").append(f);
        }
        String q =
            "select (random() * "
                + keys
                + ")::bigint as customer_id, ts as event_ts, ts + to_seconds((random() * 3600)::bigint) as created_ts"
                + cols
                + " from (select timestamptz '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::bigint) as ts from range("
                + per
                + "))";
        st.execute(
            "copy (" + q + ") to '" + dir.resolve("v" + v + ".parquet") + "' (format parquet)");
        if (!noPandas) {
          st.execute(
              "copy (select * from '"
                  + dir.resolve("v" + v + ".parquet")
                  + "') to '"
                  + dir.resolve("v" + v + ".csv")
                  + "' (header, timestampformat '%Y-%m-%dT%H:%M:%S.%fZ')");
        }
      }
      st.execute(
          "copy (select (random() * "
              + keys
              + ")::bigint as customer_id, timestamptz '2024-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::bigint) as event_timestamp, (random() < 0.3)::int as label from range("
              + entities
              + ")) to '"
              + dir.resolve("entities.parquet")
              + "' (format parquet)");
      if (!noPandas) {
        st.execute(
            "copy (select * from '"
                + dir.resolve("entities.parquet")
                + "') to '"
                + dir.resolve("entities.csv")
                + "' (header, timestampformat '%Y-%m-%dT%H:%M:%S.%fZ')");
      }
    }
  }

  /** Runs one variant in a fresh JVM, so its peak memory is its own. */
  private String runChild(String which) throws Exception {
    Process p = startChild(which, List.of(), List.of(), Map.of());
    String text = new String(p.getInputStream().readAllBytes());
    p.waitFor(1, TimeUnit.HOURS);
    return text.strip();
  }

  private Process startChild(
      String which, List<String> jvmOptions, List<String> args, Map<String, String> env)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.kiln.engine.cli.Main");
    cmd.addAll(Arrays.asList("bench", "features", "--variant", which, "--dir", dir.toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    return pb.start();
  }

  private int child(PrintWriter out) throws Exception {
    Path result = dir.resolve(variant + "-out.parquet");
    long t0 = System.nanoTime();
    Duration cpu0 = cpu();
    long rows;
    if (variant.equals("kiln")) {
      Definitions d =
          DefinitionsParser.parse(Map.of(dir.resolve("features.yaml").toString(), definitions()));
      Definitions.Service s = d.services().get("bench");
      try (FeatureTables t = FeatureTables.open(null)) {
        rows =
            TrainingSet.write(
                    t,
                    t.table("entities.parquet", dir, null),
                    "event_timestamp",
                    new ArrayList<>(d.views().values()),
                    s.features(),
                    result)
                .rows();
      }
    } else {
      // The same join written by hand: ASOF JOIN per view, ttl as a CASE; no tie-break by
      // created time, no input order.
      StringBuilder sel = new StringBuilder("select e.*");
      StringBuilder from = new StringBuilder(" from '" + dir.resolve("entities.parquet") + "' e");
      int n = 0;
      for (int v = 0; v < VIEWS; v++) {
        for (int f = 0; f < FEATURES && n < 20; f++, n++) {
          sel.append(", case when v")
              .append(v)
              .append(".event_ts >= e.event_timestamp - interval 30 day then v")
              .append(v)
              .append(".f")
              .append(f)
              .append(" end as v")
              .append(v)
              .append("__f")
              .append(f);
        }
        from.append(" asof left join '")
            .append(dir.resolve("v" + v + ".parquet"))
            .append("' v")
            .append(v)
            .append(" on e.customer_id = v")
            .append(v)
            .append(".customer_id and e.event_timestamp >= v")
            .append(v)
            .append(".event_ts");
      }
      try (FeatureTables t = FeatureTables.open(null);
          Statement st = t.connection().createStatement()) {
        rows = st.executeUpdate("copy (" + sel + from + ") to '" + result + "' (format parquet)");
      }
    }
    out.printf(
        Locale.ROOT,
        "%-12s %,d rows in %6.2f s (cpu %6.2f s), peak RSS %,d MiB%n",
        variant,
        rows,
        secs(t0),
        cpu().minus(cpu0).toMillis() / 1e3,
        peakRssMib());
    return 0;
  }

  /** This process's CPU time: less at the mercy of other processes than wall time. */
  private static Duration cpu() {
    return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
  }

  static long peakRssMib() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    return -1;
  }

  private String pandas() throws Exception {
    String script =
        """
        import resource, sys, time
        import pandas as pd
        d = sys.argv[1]; views = int(sys.argv[2]); feats = int(sys.argv[3])
        t0 = time.time()
        e = pd.read_csv(d + '/entities.csv', parse_dates=['event_timestamp'])
        e['_row'] = range(len(e))
        e = e.sort_values('event_timestamp', kind='stable')
        n = 0
        for v in range(views):
            f = pd.read_csv(d + '/v%d.csv' % v, parse_dates=['event_ts', 'created_ts'])
            f = f.sort_values(['event_ts', 'created_ts']).drop_duplicates(['customer_id', 'event_ts'], keep='last')
            keep = ['f%d' % i for i in range(feats) if n + i < 20]
            n += len(keep)
            f = f[['customer_id', 'event_ts'] + keep].rename(columns={c: 'v%d__%s' % (v, c) for c in keep})
            f = f.rename(columns={'event_ts': '_ts%d' % v})
            e = pd.merge_asof(e, f, left_on='event_timestamp', right_on='_ts%d' % v, by='customer_id',
                              direction='backward', tolerance=pd.Timedelta(days=30)).drop(columns=['_ts%d' % v])
        e = e.sort_values('_row').drop(columns=['_row'])
        e.to_csv(d + '/pandas-out.csv', index=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print('%-12s %s rows in %6.2f s, peak RSS %s MiB' % ('pandas', format(len(e), ','), time.time() - t0, format(peak, ',')))
        """;
    Path py = dir.resolve("merge_asof.py");
    Files.writeString(py, script);
    Process p =
        new ProcessBuilder(
                // Debian's python3 (with python3-pandas), not one a version manager put first
                Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3",
                py.toString(),
                dir.toString(),
                String.valueOf(VIEWS),
                String.valueOf(FEATURES))
            .redirectErrorStream(true)
            .start();
    String text = new String(p.getInputStream().readAllBytes());
    p.waitFor(1, TimeUnit.HOURS);
    return text.strip() + " (CSV in and out: pandas reads no Parquet without pyarrow)";
  }

  /** Materialization rows/s and online lookups through the server (needs the state store). */
  private void online(PrintWriter out) throws Exception {
    // The pool `kiln server` opens without workers, kept full as it keeps it.
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 4 + 20 + 4)) {
      engine.db().keepFull();
      FeatureStore store = new FeatureStore(engine);
      store.apply(
          DefinitionsParser.parse(Map.of(dir.resolve("features.yaml").toString(), definitions())));
      long t0 = System.nanoTime();
      long rows = 0;
      for (Materializer.Result r :
          FeaturesCommand.materialize(store, List.of(), Instant.parse("2025-01-01T00:00:00Z"))) {
        rows += r.rows();
      }
      double s = secs(t0);
      out.printf(Locale.ROOT, "materialize  %,d rows in %.2f s: %,.0f rows/s%n", rows, s, rows / s);
      Path pipelines = Files.createDirectories(dir.resolve("no-pipelines"));
      String token =
          new TokenStore(engine.db()).create("bench-features-" + System.nanoTime(), Role.VIEWER);
      try (KilnServer server =
          new KilnServer(
              engine,
              new KilnServer.Options("127.0.0.1", 0, pipelines, 0, Map.of()),
              new PrintStream(new ByteArrayOutputStream()))) {
        server.start();
        // Port 0: the server binds a free port and reports it (what `kiln server` prints).
        String base =
            "http://127.0.0.1:" + server.port() + "/api/features/online?service=bench&customer_id=";
        long sh = shTrueMicros();
        // The client is another JVM: its allocation, GC and compilation are not the server's.
        Process client =
            startChild(
                ONLINE_CLIENT,
                List.of("-XX:+UseSerialGC", "-Xmx128m", "-XX:TieredStopAtLevel=1"),
                List.of(
                    "--url",
                    base,
                    "--keys",
                    String.valueOf(keys),
                    "--lookups",
                    String.valueOf(lookups),
                    "--clients",
                    String.valueOf(clients),
                    "--warm-up",
                    String.valueOf(warmUp)),
                Map.of("KILN_TOKEN", token));
        // Each line of the client ends a phase: this process's CPU in it is the server's.
        Duration mark = cpu();
        try (BufferedReader lines = client.inputReader()) {
          for (String line; (line = lines.readLine()) != null; ) {
            Duration now = cpu();
            if (line.startsWith("online ")) {
              out.printf(
                  Locale.ROOT,
                  "%s, server CPU %.2f ms per lookup%n",
                  line,
                  now.minus(mark).toNanos() / 1e6 / lookups);
            } else if (!line.equals(WARMED_UP)) {
              out.println(line);
            }
            out.flush();
            mark = now;
          }
        }
        client.waitFor(1, TimeUnit.HOURS);
        out.printf(Locale.ROOT, "online       (sh -c true: %.2f ms)%n", sh / 1e3);
        // The lookup's one statement as PostgreSQL runs it (index scans, buffers touched).
        out.println("online lookup plan (EXPLAIN ANALYZE of the statement a lookup sends):");
        out.println(
            "  "
                + store
                    .online()
                    .explain("bench", Map.of("customer_id", List.of("0")))
                    .replace("\n", "\n  "));
      }
    }
  }

  static final String ONLINE_CLIENT = "online-client";
  private static final String WARMED_UP = "warmed up";

  /**
   * The load client (its own JVM): a warm-up, then {@code --lookups} lookups from 1 client and from
   * {@code --clients} clients, with the latency of each as the client sees it.
   */
  private int onlineClient(PrintWriter out) throws Exception {
    String token = System.getenv("KILN_TOKEN");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    lookups(http, url, token, clients, warmUp, new Random(0));
    out.println(WARMED_UP);
    out.flush();
    for (int n : clients == 1 ? new int[] {1} : new int[] {1, clients}) {
      long start = System.nanoTime();
      long[] ns = lookups(http, url, token, n, lookups, new Random(n));
      double wall = secs(start);
      Arrays.sort(ns);
      out.printf(
          Locale.ROOT,
          "online       %,d lookups of 20 features over HTTP on loopback, %d client%s:"
              + " p50 %.2f ms, p99 %.2f ms, max %.2f ms, %,.0f lookups/s%n",
          ns.length,
          n,
          n == 1 ? "" : "s",
          ns[ns.length / 2] / 1e6,
          ns[(int) (ns.length * 0.99)] / 1e6,
          ns[ns.length - 1] / 1e6,
          ns.length / wall);
    }
    out.flush();
    return 0;
  }

  /** Each of {@code clients} threads asks for random entities; the latency of every lookup. */
  private long[] lookups(
      HttpClient http, String base, String token, int clients, int total, Random random)
      throws Exception {
    long[] ns = new long[total];
    int[] entity = new int[total];
    for (int i = 0; i < total; i++) {
      entity[i] = random.nextInt((int) keys);
    }
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        done.add(
            pool.submit(
                () -> {
                  for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                    HttpRequest req =
                        HttpRequest.newBuilder(URI.create(base + entity[i]))
                            .header("Authorization", "Bearer " + token)
                            .build();
                    long a = System.nanoTime();
                    HttpResponse<String> resp =
                        http.send(req, HttpResponse.BodyHandlers.ofString());
                    ns[i] = System.nanoTime() - a;
                    if (resp.statusCode() != 200) {
                      throw new IllegalStateException("lookup failed: " + resp.body());
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return ns;
  }

  /** The median time of {@code sh -c true} as a child of this JVM: how loaded the machine is. */
  static long shTrueMicros() throws Exception {
    long[] us = new long[21];
    for (int i = 0; i < us.length; i++) {
      long a = System.nanoTime();
      new ProcessBuilder("sh", "-c", "true").start().waitFor();
      us[i] = (System.nanoTime() - a) / 1000;
    }
    Arrays.sort(us);
    return us[us.length / 2];
  }
}
