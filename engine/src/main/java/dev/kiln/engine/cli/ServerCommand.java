package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.GarbageCollector;
import dev.kiln.engine.server.KilnServer;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Host the pipelines of a folder and start their runs on their own.",
      "Loads every pipeline file under --pipelines (YAML files with 'name' and",
      "'steps'), registers their triggers (cron through Quartz, clustered on the",
      "database; webhooks at POST /hooks/PATH; new files), serves the REST API",
      "(runs, logs, artifacts, pipelines, models, datasets, monitors) and runs",
      "in-process workers. Every /api/ request needs 'Authorization: Bearer TOKEN'",
      "(see 'kiln tokens create'); the whole API is described at GET /api/openapi.json",
      "and rendered at /api/docs (docs/api.md). GET /metrics answers in Prometheus",
      "text format with a viewer token, or openly with --open-metrics (docs/metrics.md).",
      "A changed file is reloaded; an invalid edit is reported",
      "and the last valid version stays active. SIGTERM stops it, letting running",
      "steps finish for up to 10s. Once it serves, it prints one line on stdout:",
      "'kiln server listening on http://HOST:PORT ...' (--port 0: the port it got).",
      "The web UI is at / of that address: sign in with a token (docs/ui.md)."
    })
final class ServerCommand implements Callable<Integer> {
  @Option(
      names = "--port",
      defaultValue = "8080",
      description =
          "HTTP port; 0 for a free one, printed when it serves (default ${DEFAULT-VALUE})")
  int port;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description =
          "address to listen on (default ${DEFAULT-VALUE}: this machine only; 0.0.0.0 for all)")
  String host;

  @Option(
      names = "--pipelines",
      paramLabel = "DIR",
      defaultValue = "pipelines",
      description = "folder of pipeline files, read recursively (default ${DEFAULT-VALUE})")
  Path pipelines;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description =
          "steps run at once by in-process workers; 0 for none (default ${DEFAULT-VALUE})")
  int slots;

  @Mixin DataRootOption dataRoots;

  @Option(
      names = "--allow-host-network",
      description = "let container steps use 'network: host' (refused otherwise; docs/security.md)")
  boolean allowHostNetwork;

  @Option(
      names = "--open-metrics",
      description =
          "serve GET /metrics without a token (for a Prometheus that cannot send one);"
              + " the rest of the API still needs one")
  boolean openMetrics;

  @Option(
      names = "--retention",
      paramLabel = "AGE",
      description =
          "delete finished runs older than AGE (e.g. 30d) every hour, as 'kiln gc --older-than"
              + " AGE' does; kept forever when not given")
  String retention;

  @Override
  public Integer call() throws Exception {
    if (allowHostNetwork) {
      // Read by the docker executor (workers), which the engine does not import.
      System.setProperty("kiln.allowHostNetwork", "true");
    }
    if (slots < 0) {
      throw new UserError("--slots must be 0 or more, got " + slots);
    }
    if (port < 0 || port > 65535) {
      throw new UserError("--port must be between 0 and 65535, got " + port);
    }
    if (!Files.isDirectory(pipelines)) {
      throw new UserError("--pipelines: no such folder: " + pipelines);
    }
    Duration keep = retention == null ? null : Durations.parse("--retention", retention);
    KilnConfig config = dataRoots.config();
    // The workers' share (a connection per slot, the poller, heartbeats, log flushes) and the
    // API's own (Vert.x runs at most 20 requests at once), plus triggers and housekeeping: kept
    // open, so a request never waits behind the workers or for a login.
    Engine engine = Engine.open(config, slots + 4 + 20 + 4);
    engine.db().keepFull();
    if (config.dbUrl() == null) {
      StoreUsers.register(config.home(), "kiln server");
    }
    KilnServer server =
        new KilnServer(
            engine,
            new KilnServer.Options(host, port, pipelines, slots, System.getenv(), openMetrics),
            System.err);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("kiln server: stopping");
                  server.close();
                  engine.close();
                  stopped.countDown();
                },
                "kiln-server-stop"));
    try {
      server.start();
    } catch (Exception e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof BindException) {
          throw new UserError(
              "--port "
                  + port
                  + ": cannot listen on "
                  + host
                  + ":"
                  + port
                  + " ("
                  + t.getMessage()
                  + ")");
        }
      }
      throw e;
    }
    System.out.println(server.listening());
    server.summary().forEach(System.out::println);
    System.out.flush();
    if (keep != null) {
      new GarbageCollector(engine.db(), engine.artifacts())
          .every(Duration.ofHours(1), keep, System.err::println);
    }
    stopped.await();
    return Main.OK;
  }
}
