package dev.kiln.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.engine.trigger.RunStarter;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServerConfiguration;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/**
 * What the token check adds to an API request, before and after in one run: the same {@code GET
 * /api/runs/ID} against two servers in this JVM on one database, one with the real {@link
 * Authenticator} and one whose guard lets everything through, requests interleaved. Not part of the
 * test suite (the name does not end in Test); run it by hand:
 *
 * <pre>
 * mvn -B -q -pl engine -am test -Dtest=AuthOverheadBench -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class AuthOverheadBench {
  static final int WARMUP = 3_000;
  static final int ROUNDS = 10_000;

  @Test
  void authenticationOverheadPerApiRequest() throws Exception {
    TestDb.Url url = TestDb.freshUrl();
    Path home = Files.createTempDirectory("kiln-auth-bench");
    try (Database db = Database.connect(url.url(), url.user(), url.password(), 8)) {
      Engine engine = new Engine(new KilnConfig(home, url.url(), url.user(), url.password()), db);
      TokenStore tokens = new TokenStore(db);
      tokens.createAll(IntStream.range(0, 10_000).mapToObj(i -> "bulk-" + i).toList(), Role.VIEWER);
      String token = tokens.create("bench", Role.VIEWER);
      Pipeline p =
          PipelineParser.parse("bench.yaml", "name: bench\nsteps:\n  a: { run: echo }\n")
              .pipeline();
      var started =
          (RunStarter.Outcome.Started)
              new RunStarter(db, engine.runs())
                  .start(new RunStarter.Request(p, Map.of(), "api", home.toString(), null, null));
      long runId = started.runId();

      int checked = freePort();
      int unchecked = freePort();
      Path pipelines = Files.createDirectories(home.resolve("pipelines"));
      try (DefaultCamelContext a = server(engine, pipelines, checked, new Authenticator(tokens));
          DefaultCamelContext b = server(engine, pipelines, unchecked, (auth, role) -> {})) {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest withCheck = get(checked, runId, token);
        HttpRequest withoutCheck = get(unchecked, runId, token);
        for (int i = 0; i < WARMUP; i++) {
          send(http, withCheck);
          send(http, withoutCheck);
        }
        long[] on = new long[ROUNDS];
        long[] off = new long[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
          // alternate which goes first, so neither always finds the caches warmer
          if (i % 2 == 0) {
            on[i] = send(http, withCheck);
            off[i] = send(http, withoutCheck);
          } else {
            off[i] = send(http, withoutCheck);
            on[i] = send(http, withCheck);
          }
        }
        Authenticator guard = new Authenticator(tokens);
        long[] hit = new long[100_000];
        for (int i = 0; i < hit.length; i++) {
          long t0 = System.nanoTime();
          guard.require("Bearer " + token, Role.VIEWER);
          hit[i] = System.nanoTime() - t0;
        }
        Authenticator uncached = new Authenticator(tokens, System::nanoTime, Duration.ZERO);
        long[] miss = new long[2_000];
        for (int i = 0; i < miss.length; i++) {
          long t0 = System.nanoTime();
          uncached.require("Bearer " + token, Role.VIEWER);
          miss[i] = System.nanoTime() - t0;
        }
        PrintStream out = System.out;
        out.printf(
            "GET /api/runs/ID, %d interleaved requests each, 10,001 tokens in the store:%n"
                + "  without token check: median %.3f ms, p90 %.3f ms%n"
                + "  with token check:    median %.3f ms, p90 %.3f ms%n"
                + "  added by the check:  median %.3f ms%n"
                + "Authenticator.require in process: cached %.4f ms median,"
                + " store look-up %.3f ms median%n",
            ROUNDS,
            ms(median(off)),
            ms(p90(off)),
            ms(median(on)),
            ms(p90(on)),
            ms(median(on) - median(off)),
            ms(median(hit)),
            ms(median(miss)));
        assertThat(median(on) - median(off)).isLessThan(Duration.ofMillis(2).toNanos());
      }
    }
  }

  private static DefaultCamelContext server(
      Engine engine, Path pipelines, int port, Routes.Guard guard) throws Exception {
    DefaultCamelContext camel = new DefaultCamelContext();
    VertxPlatformHttpServerConfiguration http = new VertxPlatformHttpServerConfiguration();
    http.setBindHost("127.0.0.1");
    http.setBindPort(port);
    camel.addService(new VertxPlatformHttpServer(http));
    PipelineRegistry registry =
        new PipelineRegistry(
            pipelines,
            System.err,
            new PipelineRegistry.Listener() {
              @Override
              public void changed(Pipeline previous, Pipeline current) {}

              @Override
              public void removed(Pipeline previous) {}
            });
    camel.addRoutes(
        new HttpApi(
                engine,
                registry,
                new RunStarter(engine.db(), engine.runs()),
                Map.of(),
                pipelines.toString(),
                guard)
            .camelRoutes());
    camel.start();
    return camel;
  }

  private static HttpRequest get(int port, long runId, String token) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/runs/" + runId))
        .header("Authorization", "Bearer " + token)
        .GET()
        .build();
  }

  private static long send(HttpClient http, HttpRequest r) throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> answer = http.send(r, HttpResponse.BodyHandlers.ofString());
    long took = System.nanoTime() - t0;
    if (answer.statusCode() != 200) {
      throw new AssertionError(answer.statusCode() + " " + answer.body());
    }
    return took;
  }

  private static long median(long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static long p90(long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    return s[s.length * 9 / 10];
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
