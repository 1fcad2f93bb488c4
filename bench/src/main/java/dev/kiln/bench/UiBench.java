package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench ui}: the web UI's heavy pages on a real server. Time to first byte and to the
 * last byte of the run page of a run of a 2,000-step pipeline, and of the runs list (first page, a
 * page deep in the list, a filter that matches nothing) with 100,000 runs in the store; and the run
 * page's render time in a real headless Chromium (Navigation Timing), when one is installed.
 */
@Command(
    name = "ui",
    mixinStandardHelpOptions = true,
    description = {
      "Measure the web UI's run page and runs list at scale.",
      "A run of a generated --steps pipeline (its page: DAG, steps, timeline) and --runs",
      "runs of a one-step pipeline, created in the store first (they stay there, queued,",
      "under the pipelines bench-ui-*). See docs/benchmarks.md."
    })
final class UiBench implements Callable<Integer> {
  @Option(
      names = "--steps",
      defaultValue = "2000",
      description = "steps of the big run (default ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--runs",
      defaultValue = "100000",
      description = "runs in the store (default ${DEFAULT-VALUE})")
  int runs;

  @Option(
      names = "--rounds",
      defaultValue = "20",
      description = "timed requests of each page; medians are reported (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(
      names = "--chromium",
      defaultValue = "/usr/bin/chromium",
      description =
          "Chromium for the browser render time; skipped when it or --chromedriver is missing"
              + " (default ${DEFAULT-VALUE})")
  Path chromium;

  @Option(
      names = "--chromedriver",
      defaultValue = "/usr/bin/chromedriver",
      description = "its chromedriver (default ${DEFAULT-VALUE})")
  Path chromedriver;

  private record Timing(double firstByte, double lastByte, long bytes) {}

  @Override
  public Integer call() throws Exception {
    if (steps < 2 || runs < 1 || rounds < 1) {
      throw new ConfigException("--steps must be at least 2, --runs and --rounds at least 1");
    }
    Path dir = Files.createTempDirectory("kiln-bench-ui");
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 12);
        KilnServer server =
            new KilnServer(
                engine, new KilnServer.Options("127.0.0.1", 0, dir, 0, Map.of()), System.err)) {
      server.start();
      Pipeline big = PipelineParser.parse("bench-ui-dag.yaml", dag(steps)).orThrow();
      long bigRun = engine.runs().createRun(big, Map.of(), "bench", null);
      long existing = engine.store().runs("bench-ui-list", 1).size();
      if (existing == 0) {
        fill(engine, runs);
      }
      String token =
          new TokenStore(engine.db()).create("bench-ui-" + System.nanoTime(), Role.VIEWER);
      String base = "http://127.0.0.1:" + server.port();
      HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
      HttpResponse<String> login =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/login"))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      String cookie = login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
      long newest = engine.store().runs(null, 1).get(0).id();
      long deep = newest - Math.max(1, runs / 2);
      report(
          http,
          cookie,
          base + "/runs/" + bigRun,
          "run page, " + steps + " steps (first view: layout)",
          1);
      report(http, cookie, base + "/runs/" + bigRun, "run page, " + steps + " steps", rounds);
      report(http, cookie, base + "/runs", "runs list, first page of " + runs, rounds);
      report(http, cookie, base + "/runs?before=" + deep, "runs list, page at run " + deep, rounds);
      report(
          http,
          cookie,
          base + "/runs?pipeline=bench-ui-list&status=failed",
          "runs list, filter matching nothing",
          rounds);
      report(http, cookie, base + "/runs?q=nomatch", "runs list, search matching nothing", rounds);
      if (Files.isExecutable(chromium) && Files.isExecutable(chromedriver)) {
        BrowserTiming.report(
            chromium,
            chromedriver,
            base,
            token,
            base + "/runs/" + bigRun,
            "run page, " + steps + " steps, in Chromium",
            rounds);
      } else {
        System.out.println("browser render time skipped: no " + chromium + " or " + chromedriver);
      }
    }
    return 0;
  }

  private static void report(HttpClient http, String cookie, String url, String what, int n)
      throws Exception {
    List<Double> first = new ArrayList<>();
    List<Double> last = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      Timing t = fetch(http, cookie, url);
      first.add(t.firstByte());
      last.add(t.lastByte());
      bytes = t.bytes();
    }
    System.out.printf(
        "%-52s first byte median %7.1f ms, last byte median %7.1f ms (p90 %.1f), %d KiB%n",
        what,
        Measure.median(first),
        Measure.median(last),
        Measure.percentile(last, 90),
        bytes / 1024);
  }

  private static Timing fetch(HttpClient http, String cookie, String url) throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<InputStream> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).GET().build(),
            HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      int b = in.read();
      double firstByte = Measure.millisSince(t0);
      long bytes = b < 0 ? 0 : 1 + in.transferTo(OutputStreamSink.INSTANCE);
      double lastByte = Measure.millisSince(t0);
      if (r.statusCode() != 200) {
        throw new IllegalStateException(url + " answered " + r.statusCode());
      }
      return new Timing(firstByte, lastByte, bytes);
    }
  }

  /** Discards what it is given: the body is timed, not kept. */
  private static final class OutputStreamSink extends OutputStream {
    static final OutputStreamSink INSTANCE = new OutputStreamSink();

    @Override
    public void write(int b) {}

    @Override
    public void write(byte[] b, int off, int len) {}
  }

  /** Runs of a one-step pipeline, created by four threads; no worker takes them. */
  private static void fill(Engine engine, int n) throws Exception {
    Pipeline p =
        PipelineParser.parse(
                "bench-ui-list.yaml",
                "name: bench-ui-list\nsteps:\n  only:\n    run: \"true\"\n    queue: bench-ui-none\n")
            .orThrow();
    long t0 = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> parts = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int share = n / 4 + (t < n % 4 ? 1 : 0);
        parts.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < share; i++) {
                    engine.runs().createRun(p, Map.of(), "bench", null);
                  }
                  return null;
                }));
      }
      for (Future<?> f : parts) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    System.err.printf("created %d runs in %.1f s%n", n, Measure.secondsSince(t0));
  }

  /**
   * A pipeline of {@code n} steps: a root, layers of 40 steps each needing two of the layer before,
   * a sink.
   */
  static String dag(int n) {
    StringBuilder y =
        new StringBuilder(
            "name: bench-ui-dag\nsteps:\n  s0:\n    run: \"true\"\n    queue: bench-ui-none\n");
    int width = 40;
    for (int i = 1; i < n - 1; i++) {
      int layer = (i - 1) / width;
      y.append("  s")
          .append(i)
          .append(":\n    queue: bench-ui-none\n    run: \"true\"\n    needs: [");
      if (layer == 0) {
        y.append("s0");
      } else {
        int prevStart = 1 + (layer - 1) * width;
        int k = (i - 1) % width;
        y.append('s').append(prevStart + k).append(", s").append(prevStart + (k + 1) % width);
      }
      y.append("]\n");
    }
    int lastLayerStart = 1 + ((n - 3) / width) * width;
    y.append("  s")
        .append(n - 1)
        .append(":\n    queue: bench-ui-none\n    run: \"true\"\n    needs: [");
    for (int i = lastLayerStart; i < n - 1; i++) {
      y.append(i == lastLayerStart ? "" : ", ").append('s').append(i);
    }
    return y.append("]\n").toString();
  }
}
