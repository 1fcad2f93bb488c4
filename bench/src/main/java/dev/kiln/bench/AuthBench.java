package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.server.Authenticator;
import dev.kiln.engine.server.KilnServer;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.RunStarter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What the bearer-token check costs an API request: a real {@code kiln server} on loopback port 0
 * answering {@code GET /api/runs/ID} with a viewer token, and in the same run the check alone
 * ({@link Authenticator#require}) on the same token store, cached and uncached.
 */
@Command(
    name = "auth",
    mixinStandardHelpOptions = true,
    description = {
      "Measure what API authentication adds to a request. Starts a kiln server in this",
      "process on loopback port 0 (its port is printed), adds --tokens tokens, then",
      "times --requests GET /api/runs/ID with a viewer token (after --warmup), and the",
      "token check alone in process: with the 5 s cache and with every check asking",
      "the store. Prints medians and the check's share of a request. See docs/benchmarks.md."
    })
final class AuthBench implements Callable<Integer> {
  @Option(
      names = "--requests",
      defaultValue = "10000",
      description = "measured requests (default ${DEFAULT-VALUE})")
  int requests;

  @Option(
      names = "--warmup",
      defaultValue = "3000",
      description = "unmeasured requests first (default ${DEFAULT-VALUE})")
  int warmup;

  @Option(
      names = "--tokens",
      defaultValue = "10000",
      description = "tokens added to the store besides the one used (default ${DEFAULT-VALUE})")
  int tokenCount;

  @Override
  public Integer call() throws Exception {
    if (requests < 1 || warmup < 0 || tokenCount < 0) {
      throw new ConfigException("--requests must be at least 1, --warmup and --tokens at least 0");
    }
    Path dir = Files.createTempDirectory("kiln-bench-auth");
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 8);
        KilnServer server =
            new KilnServer(
                engine,
                new KilnServer.Options("127.0.0.1", 0, dir, 1, System.getenv()),
                System.err)) {
      server.start();
      System.err.println(server.listening());
      TokenStore tokens = new TokenStore(engine.db());
      String tag = "bench-auth-" + System.nanoTime();
      tokens.createAll(
          IntStream.range(0, tokenCount).mapToObj(i -> tag + "-" + i).toList(), Role.VIEWER);
      String token = tokens.create(tag, Role.VIEWER);
      Pipeline p =
          PipelineParser.parse(
                  "bench-auth.yaml", "name: bench-auth\nsteps:\n  a: { run: 'true' }\n")
              .orThrow();
      long runId =
          ((RunStarter.Outcome.Started)
                  new RunStarter(engine.db(), engine.runs())
                      .start(
                          new RunStarter.Request(p, Map.of(), "api", dir.toString(), null, null)))
              .runId();
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest get =
          HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + server.port() + "/api/runs/" + runId))
              .header("Authorization", "Bearer " + token)
              .GET()
              .build();
      Measure.millis(warmup, () -> send(http, get));
      List<Double> request = Measure.millis(requests, () -> send(http, get));

      Authenticator cached = new Authenticator(tokens);
      Measure.millis(10_000, () -> cached.require("Bearer " + token, Role.VIEWER));
      List<Double> hit =
          Measure.millis(100_000, () -> cached.require("Bearer " + token, Role.VIEWER));
      Authenticator uncached = new Authenticator(tokens, System::nanoTime, Duration.ZERO);
      List<Double> miss =
          Measure.millis(2_000, () -> uncached.require("Bearer " + token, Role.VIEWER));

      double req = Measure.median(request);
      System.out.printf(
          "GET /api/runs/ID with a viewer token, %d requests, %d tokens in the store:"
              + " median %.3f ms, p90 %.3f ms%n"
              + "token check in process: cached median %.4f ms (%.2f %% of a request),"
              + " store look-up median %.3f ms (%.1f %%)%n",
          requests,
          tokenCount + 1,
          req,
          Measure.percentile(request, 90),
          Measure.median(hit),
          Measure.median(hit) / req * 100,
          Measure.median(miss),
          Measure.median(miss) / req * 100);
      return 0;
    }
  }

  private static void send(HttpClient http, HttpRequest r) throws Exception {
    HttpResponse<String> answer = http.send(r, HttpResponse.BodyHandlers.ofString());
    if (answer.statusCode() != 200) {
      throw new IllegalStateException(
          "GET " + r.uri() + " answered " + answer.statusCode() + ": " + answer.body());
    }
  }
}
