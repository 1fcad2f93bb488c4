package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.trigger.CronScheduler;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  private WebUi webUi;
  private PipelineTriggers triggers;

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
    triggers = new PipelineTriggers(report, starter, baseDir);
    cron = new CronScheduler(engine.db().dataSource(), "kiln", triggers::fire);
    registry = new PipelineRegistry(options.pipelines(), report, triggers);
    files = new FileTriggers(camel, starter, registry, baseDir);
    triggers.bind(registry, cron, files);
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
    webUi = WebUi.load().orElse(null);
    if (webUi != null) {
      camel.addRoutes(webUi.routes(engine, hosted()).camelRoutes());
    }
    camel.start();
    VertxPlatformHttpRouter router =
        VertxPlatformHttpRouter.lookup(
            camel, VertxPlatformHttpRouter.getRouterNameFromPort(options.port()));
    jsonErrors(router, webUi);
    HookBody.keepRawBytes(router);
    loaded = registry.loadAll();
    triggers.watch(camel);
    cron.start();
    if (options.slots() > 0) {
      String name = "server-" + ManagementFactory.getRuntimeMXBean().getName();
      workers =
          WorkerRuntime.load()
              .start(
                  engine,
                  new WorkerRuntime.Options(
                      name, triggers.queues(), options.slots(), Duration.ofSeconds(30), null));
      triggers.serveWith(workers);
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
    table.addAll(new ApprovalsApi(engine, who).routes());
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

  /** What the server prints after {@link #listening}: store, workers, auth, triggers, warnings. */
  public List<String> summary() {
    return StartupSummary.lines(
        "http://" + options.host() + ":" + port(),
        engine.config(),
        options.slots(),
        options.env(),
        new TokenStore(engine.db()).list(),
        registry.all(),
        Path.of(baseDir),
        Instant.now());
  }

  /** The hosted pipelines as the web UI sees them. */
  private WebUi.Hosted hosted() {
    return new WebUi.Hosted() {
      @Override
      public Path root() {
        return registry.root();
      }

      @Override
      public Map<String, Pipeline> pipelines() {
        return registry.all();
      }

      @Override
      public Map<String, String> env() {
        return options.env();
      }

      @Override
      public RunStarter.Outcome start(Pipeline p, Map<String, Object> params)
          throws InvalidRequest {
        return starter.start(new RunStarter.Request(p, params, "ui", baseDir, null, null));
      }
    };
  }

  /**
   * Errors Vert.x answers itself (before a route runs) in the same JSON shape as the API's; a
   * browser asking for a page that does not exist gets the web UI's 404 page.
   */
  private static void jsonErrors(VertxPlatformHttpRouter router, WebUi webUi) {
    Map<Integer, String> messages =
        Map.of(
            404, "not found", 405, "method not allowed", 413, "request body is larger than 1 MiB");
    messages.forEach(
        (status, message) ->
            router.errorHandler(
                status,
                ctx -> {
                  if (!ctx.response().ended()) {
                    String page =
                        status == 404 && webUi != null
                            ? webUi.notFoundPage(
                                ctx.request().method().name(), ctx.request().path())
                            : null;
                    if (page != null) {
                      ctx.response()
                          .setStatusCode(404)
                          .putHeader("Content-Type", "text/html; charset=utf-8")
                          .end(page);
                      return;
                    }
                    ctx.response()
                        .setStatusCode(status)
                        .putHeader("Content-Type", "application/json")
                        .end(
                            Json.write(
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
