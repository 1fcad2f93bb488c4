package dev.kiln.engine.server;

import com.zaxxer.hikari.HikariDataSource;
import dev.kiln.engine.Engine;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.RunQueries;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's Micrometer registry behind {@code GET /metrics} (docs/metrics.md): the life cycle's
 * events through {@link Metrics}, figures read from the store when scraped (queue depth and age,
 * drift share per monitor; at most once per {@link #STORE_EVERY} however often Prometheus asks),
 * JVM and HikariCP pool metrics. Labels are pipeline and step names, statuses, queues and monitors,
 * never run ids.
 */
final class ServerMetrics implements Metrics {
  static final Duration STORE_EVERY = Duration.ofSeconds(2);
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  private static final Logger log = LoggerFactory.getLogger(ServerMetrics.class);

  /** Step durations and cron lateness: buckets from a tenth of a second to an hour. */
  private static final Duration[] BUCKETS = {
    Duration.ofMillis(100),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofSeconds(5),
    Duration.ofSeconds(15),
    Duration.ofSeconds(60),
    Duration.ofMinutes(5),
    Duration.ofMinutes(15),
    Duration.ofHours(1)
  };

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final RunQueries queries;
  private final MonitorStore monitors;
  private final MultiGauge queueDepth;
  private final MultiGauge queueAge;
  private final MultiGauge driftShare;
  private final Object refreshLock = new Object();
  private long refreshedAtNanos;
  private boolean refreshed;

  ServerMetrics(Engine engine) {
    this.queries = new RunQueries(engine.db());
    this.monitors = new MonitorStore(engine.db());
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    if (engine.db().dataSource() instanceof HikariDataSource hikari
        && hikari.getMetricRegistry() == null
        && hikari.getMetricsTrackerFactory() == null) {
      hikari.setMetricRegistry(registry);
    }
    queueDepth =
        MultiGauge.builder("kiln.queue.depth")
            .description("Tasks queued and ready to claim (past any retry backoff), per queue")
            .register(registry);
    queueAge =
        MultiGauge.builder("kiln.queue.oldest.age")
            .baseUnit("seconds")
            .description("How long the oldest ready task of a queue has waited")
            .register(registry);
    driftShare =
        MultiGauge.builder("kiln.monitor.drift.share")
            .description("Share of drifted columns in a drift monitor's newest report (0 to 1)")
            .register(registry);
  }

  /** The Prometheus text exposition, with the store's figures at most {@link #STORE_EVERY} old. */
  String scrape() {
    refreshFromStore();
    return registry.scrape();
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  private void refreshFromStore() {
    synchronized (refreshLock) {
      long now = System.nanoTime();
      if (refreshed && now - refreshedAtNanos < STORE_EVERY.toNanos()) {
        return;
      }
      refreshed = true;
      refreshedAtNanos = now;
      try {
        List<MultiGauge.Row<?>> depth = new ArrayList<>();
        List<MultiGauge.Row<?>> age = new ArrayList<>();
        for (RunQueries.QueueDepth q : queries.queueDepths()) {
          depth.add(MultiGauge.Row.of(Tags.of("queue", q.queue()), q.ready()));
          age.add(MultiGauge.Row.of(Tags.of("queue", q.queue()), q.oldestSeconds()));
        }
        queueDepth.register(depth, true);
        queueAge.register(age, true);
        List<MultiGauge.Row<?>> drift = new ArrayList<>();
        monitors
            .latestDriftShares()
            .forEach((m, share) -> drift.add(MultiGauge.Row.of(Tags.of("monitor", m), share)));
        driftShare.register(drift, true);
      } catch (RuntimeException e) {
        // A scrape still answers (JVM, counters); the store's figures keep their last values.
        log.warn("metrics: cannot read queue and monitor figures: {}", e.getMessage());
      }
    }
  }

  @Override
  public void runStarted(String pipeline, String trigger) {
    Counter.builder("kiln.runs.started")
        .description("Runs created by this server, by pipeline and trigger")
        .tags("pipeline", pipeline, "trigger", trigger)
        .register(registry)
        .increment();
  }

  @Override
  public void runFinished(String pipeline, String status) {
    Counter.builder("kiln.runs.finished")
        .description("Runs that reached a final status in this server, by pipeline and status")
        .tags("pipeline", pipeline, "status", status)
        .register(registry)
        .increment();
  }

  @Override
  public void stepFinished(String pipeline, String step, String status, Duration took) {
    Timer.builder("kiln.step.duration")
        .description("Attempts of steps run by this server's workers, claim to result")
        .tags("pipeline", pipeline, "step", step, "status", status)
        .serviceLevelObjectives(BUCKETS)
        .register(registry)
        .record(took);
  }

  @Override
  public void leaseLost() {
    Counter.builder("kiln.lease.losses")
        .description("Heartbeats that found the task's lease gone; the step was stopped")
        .register(registry)
        .increment();
  }

  @Override
  public void reaped(int tasks) {
    Counter.builder("kiln.tasks.reaped")
        .description("Tasks whose lease expired (or whose worker died), requeued by this server")
        .register(registry)
        .increment(tasks);
  }

  @Override
  public void triggerFired(String pipeline, String kind, String outcome) {
    Counter.builder("kiln.trigger.firings")
        .description("Trigger firings (cron, webhook, files, backfill, api) and their outcome")
        .tags("pipeline", pipeline, "trigger", kind, "outcome", outcome)
        .register(registry)
        .increment();
  }

  @Override
  public void webhookAnswered(int status) {
    Counter.builder("kiln.webhook.responses")
        .description("Webhook requests answered, by HTTP status")
        .tags("status", String.valueOf(status))
        .register(registry)
        .increment();
  }

  @Override
  public void cronLateness(String pipeline, Duration late) {
    Timer.builder("kiln.cron.lateness")
        .description("How late a cron firing started its run after its scheduled time")
        .tags("pipeline", pipeline)
        .serviceLevelObjectives(BUCKETS)
        .register(registry)
        .record(late.isNegative() ? Duration.ZERO : late);
  }

  @Override
  public void alertSent(String channel, String outcome) {
    Counter.builder("kiln.alerts.sent")
        .description("Alerts (notifications) sent by steps in this server, by channel and outcome")
        .tags("channel", channel, "outcome", outcome)
        .register(registry)
        .increment();
  }

  @Override
  public void workerSlots(String worker, IntSupplier busy, int total) {
    Gauge.builder("kiln.worker.slots", busy::getAsInt)
        .description("Worker slots of this server's in-process workers, busy or free")
        .tags("state", "busy")
        .register(registry);
    Gauge.builder("kiln.worker.slots", () -> total - busy.getAsInt())
        .description("Worker slots of this server's in-process workers, busy or free")
        .tags("state", "free")
        .register(registry);
  }
}
