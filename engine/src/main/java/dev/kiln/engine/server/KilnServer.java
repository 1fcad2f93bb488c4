package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.engine.Engine;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.CronScheduler;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServerConfiguration;
import org.apache.camel.impl.DefaultCamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running process: hosts the pipelines of a folder, their triggers (Quartz cron, webhooks
 * and the run API over Camel platform-http, Camel file consumers), reloads a pipeline when its file
 * changes, and runs in-process workers. Servers on one database form a cluster.
 */
public final class KilnServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KilnServer.class);

  /**
   * {@code slots} 0 runs no in-process workers; {@code port} 0 binds a free port ({@link #port}).
   */
  public record Options(
      String host,
      int port,
      Path pipelines,
      int slots,
      Map<String, String> env,
      boolean openMetrics) {
    public Options(String host, int port, Path pipelines, int slots, Map<String, String> env) {
      this(host, port, pipelines, slots, env, false);
    }
  }

  private final Engine engine;
  private final Options options;
  private final PrintStream report;
  private final RunStarter starter;
  private final String baseDir = Path.of("").toAbsolutePath().toString();
  private DefaultCamelContext camel;
  private VertxPlatformHttpServer http;
  private int loaded;
  private CronScheduler cron;
  private FileTriggers files;
  private PipelineRegistry registry;
  private WorkerRuntime.Handle workers;

  public KilnServer(Engine engine, Options options, PrintStream report) {
    this.engine = engine;
    this.options = options;
    this.report = report;
    this.starter = new RunStarter(engine.db(), engine.runs());
  }

  public void start() throws Exception {
    camel = new DefaultCamelContext();
    camel.getShutdownStrategy().setTimeout(5);
    VertxPlatformHttpServerConfiguration config = new VertxPlatformHttpServerConfiguration();
    config.setBindHost(options.host());
    config.setBindPort(options.port());
    config.setMaxBodySize((long) HttpApi.MAX_BODY);
    http = new VertxPlatformHttpServer(config);
    camel.addService(http);
    cron = new CronScheduler(engine.db().dataSource(), "kiln", this::fire);
    registry =
        new PipelineRegistry(
            options.pipelines(),
            report,
            new PipelineRegistry.Listener() {
              @Override
              public void changed(Pipeline previous, Pipeline current) {
                KilnServer.this.changed(previous, current);
              }

              @Override
              public void removed(Pipeline previous) {
                KilnServer.this.removed(previous);
              }
            });
    files = new FileTriggers(camel, starter, registry, baseDir);
    ServerMetrics metrics = new ServerMetrics(engine);
    Metrics.install(metrics);
    Authenticator auth = new Authenticator(new TokenStore(engine.db()));
    HttpApi api = new HttpApi(engine, registry, starter, options.env(), baseDir, auth);
    camel.addRoutes(
        new Routes(
                routeTable(
                    api,
                    engine,
                    registry,
                    h -> auth.identify(h).name(),
                    metrics::scrape,
                    options.openMetrics()),
                auth)
            .camelRoutes());
    camel.start();
    VertxPlatformHttpRouter router =
        VertxPlatformHttpRouter.lookup(
            camel, VertxPlatformHttpRouter.getRouterNameFromPort(options.port()));
    jsonErrors(router);
    HookBody.keepRawBytes(router);
    loaded = registry.loadAll();
    watchPipelines();
    cron.start();
    if (options.slots() > 0) {
      String name = "server-" + ManagementFactory.getRuntimeMXBean().getName();
      workers =
          WorkerRuntime.load()
              .start(
                  engine,
                  new WorkerRuntime.Options(
                      name, queues(), options.slots(), Duration.ofSeconds(30), null));
    }
  }

  /**
   * Every route the server serves, each with its role (docs/security.md): the run API and webhooks,
   * the resource APIs, the API reference and /metrics (open only with --open-metrics).
   */
  static List<Routes.Route> routeTable(
      HttpApi api,
      Engine engine,
      PipelineRegistry registry,
      ModelsApi.Who who,
      Supplier<String> scrape,
      boolean openMetrics) {
    List<Routes.Route> table = new ArrayList<>();
    for (Routes.Route r : api.routes()) {
      table.add(r.path().startsWith("/hooks/") ? countedHook(r) : r);
    }
    Routes.Handler metrics = e -> Routes.Reply.text(200, ServerMetrics.CONTENT_TYPE, scrape.get());
    table.add(
        openMetrics
            ? Routes.open(
                Routes.Method.GET,
                "/metrics",
                "kiln server --open-metrics: whoever reaches the port may scrape",
                metrics)
            : Routes.route(Routes.Method.GET, "/metrics", Role.VIEWER, metrics));
    table.addAll(new RunsApi(engine).routes());
    table.addAll(new PipelinesApi(engine, registry).routes());
    table.addAll(new ModelsApi(engine, who).routes());
    table.addAll(new DataApi(engine).routes());
    table.addAll(new TokensApi(engine).routes());
    List<Routes.Route> all = new ArrayList<>();
    table.addAll(new DocsApi(() -> all).routes());
    all.addAll(table);
    return List.copyOf(all);
  }

  /**
   * The HTTP routes Camel actually serves, as {@code "METHOD /path"}: what the OpenAPI document is
   * tested against.
   */
  private static final Pattern METHOD_RESTRICT = Pattern.compile("httpMethodRestrict=([A-Z]+)");

  List<String> servedRoutes() {
    List<String> out = new ArrayList<>();
    for (var r : camel.getRoutes()) {
      String uri = r.getEndpoint().getEndpointUri();
      if (uri.startsWith("platform-http:")) {
        String path = uri.substring("platform-http:".length()).replaceFirst("^/+", "/");
        int q = path.indexOf('?');
        String method = "GET";
        if (q >= 0) {
          Matcher m = METHOD_RESTRICT.matcher(path);
          method = m.find() ? m.group(1) : "GET";
          path = path.substring(0, q);
        }
        out.add(method + " " + URLDecoder.decode(path, StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  /** A webhook route whose answers are counted by status (kiln_webhook_responses_total). */
  private static Routes.Route countedHook(Routes.Route r) {
    Routes.Handler h = r.handler();
    return new Routes.Route(
        r.method(),
        r.path(),
        r.role(),
        r.openBecause(),
        e -> {
          try {
            Routes.Reply reply = h.handle(e);
            Metrics.get().webhookAnswered(reply.status());
            return reply;
          } catch (InvalidRequest ex) {
            Metrics.get().webhookAnswered(ex.status());
            throw ex;
          } catch (Exception ex) {
            Metrics.get().webhookAnswered(500);
            throw ex;
          }
        });
  }

  /** The port the server listens on once started: the one it got when asked for port 0. */
  public int port() {
    if (http == null) {
      throw new IllegalStateException("the server is not started");
    }
    return http.getPort();
  }

  /**
   * The line {@code kiln server} prints once it serves: {@code kiln server listening on
   * http://HOST:PORT with ...}, with the port it actually got.
   */
  public String listening() {
    return "kiln server listening on http://"
        + options.host()
        + ":"
        + port()
        + " with "
        + loaded
        + " pipelines from "
        + registry.root()
        + ", "
        + options.slots()
        + " worker slots";
  }

  /** The queues of the hosted pipelines' steps, which the in-process workers serve. */
  private List<String> queues() {
    Set<String> queues = new LinkedHashSet<>();
    queues.add("default");
    for (Pipeline p : registry.all().values()) {
      p.steps().values().forEach(s -> queues.add(s.queueOr(p.defaults())));
    }
    return List.copyOf(queues);
  }

  /** Errors Vert.x answers itself (before a route runs) in the same JSON shape as the API's. */
  private static void jsonErrors(VertxPlatformHttpRouter router) {
    Map<Integer, String> messages =
        Map.of(
            404, "not found", 405, "method not allowed", 413, "request body is larger than 1 MiB");
    messages.forEach(
        (status, message) ->
            router.errorHandler(
                status,
                ctx -> {
                  if (!ctx.response().ended()) {
                    ctx.response()
                        .setStatusCode(status)
                        .putHeader("Content-Type", "application/json")
                        .end(
                            dev.kiln.engine.store.Json.write(
                                    Routes.errorBody(
                                        status,
                                        message
                                            + " ("
                                            + ctx.request().method()
                                            + " "
                                            + ctx.request().path()
                                            + ")"))
                                + "\n");
                  }
                }));
  }

  /**
   * Reloads a pipeline file when it appears or its modification time or size changes, and unloads
   * the pipeline of a file that was deleted (checked every second).
   */
  private void watchPipelines() throws Exception {
    String uri =
        "file:"
            + registry.root()
            + "?noop=true&recursive=true&delay=500"
            + "&include=.*\\.ya?ml&exclude=^\\..*"
            + "&idempotentKey=${file:absolute.path}-${file:modified}-${file:size}";
    camel.addRoutes(
        new RouteBuilder() {
          @Override
          public void configure() {
            from(uri)
                .routeId("pipelines")
                .process(
                    e ->
                        registry.load(
                            Path.of(e.getIn().getHeader("CamelFileAbsolutePath", String.class))));
            from("timer:kiln-pipelines-deleted?period=1000")
                .routeId("pipelines-deleted")
                .process(e -> registry.unloadDeleted());
          }
        });
  }

  private void changed(Pipeline previous, Pipeline current) {
    retrigger(
        "register",
        current.name(),
        () -> {
          if (previous != null && !previous.name().equals(current.name())) {
            cron.remove(previous.name());
          }
          cron.sync(current);
          files.sync(previous, current);
        });
  }

  private void removed(Pipeline previous) {
    retrigger(
        "remove",
        previous.name(),
        () -> {
          cron.remove(previous.name());
          files.sync(previous, null);
        });
  }

  private interface TriggerChange {
    void apply() throws Exception;
  }

  /** Applies a change to a pipeline's triggers, then lets the workers follow the queues. */
  private void retrigger(String verb, String pipeline, TriggerChange change) {
    try {
      change.apply();
    } catch (Exception e) {
      report.println(
          "kiln server: cannot " + verb + " the triggers of " + pipeline + ": " + e.getMessage());
      log.error("{} triggers of {}", verb, pipeline, e);
    }
    if (workers != null) {
      workers.serve(queues());
    }
  }

  private void fire(String pipeline, int index, Instant scheduledAt) {
    Metrics.get().cronLateness(pipeline, Duration.between(scheduledAt, Instant.now()));
    Pipeline p = registry.pipeline(pipeline);
    List<Trigger.Cron> crons = new ArrayList<>();
    if (p != null) {
      p.triggers()
          .forEach(
              t -> {
                if (t instanceof Trigger.Cron c) {
                  crons.add(c);
                }
              });
    }
    if (index >= crons.size()) {
      log.warn("cron {} of {} fired but this server does not have it; skipped", index, pipeline);
      return;
    }
    String key = "cron:" + pipeline + ":" + index + ":" + scheduledAt.toEpochMilli();
    try {
      var outcome =
          starter.start(
              new RunStarter.Request(
                  p, TriggerParams.fromJson(p, null), "cron", baseDir, scheduledAt, key));
      log.info("{} cron {} at {}: {}", pipeline, index, scheduledAt, outcome);
    } catch (InvalidRequest e) {
      log.error("{} cron {} at {}: no run: {}", pipeline, index, scheduledAt, e.getMessage());
    } catch (dev.kiln.engine.store.StoreException e) {
      if (e.getCause() instanceof java.sql.SQLException sql && "23505".equals(sql.getSQLState())) {
        // runs_cron_once: another firing of this scheduled time already made its run.
        log.info("{} cron {} at {}: already fired", pipeline, index, scheduledAt);
      } else {
        throw e;
      }
    }
  }

  @Override
  public void close() {
    if (cron != null) {
      cron.close();
    }
    if (camel != null) {
      camel.stop();
    }
    Metrics.install(null);
    if (workers != null) {
      try {
        workers.drain(Duration.ofSeconds(10));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      workers.close();
    }
  }
}
