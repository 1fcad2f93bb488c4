package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.StoreException;
import dev.kiln.engine.trigger.CronScheduler;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's side of the hosted pipelines' triggers: watches the pipeline folder, (re)registers a
 * pipeline's cron and file triggers when it is loaded, changed or removed, lets the in-process
 * workers follow the queues, and starts the run of a cron firing.
 */
final class PipelineTriggers implements PipelineRegistry.Listener {
  // Logs under the server's name, as before these moved out of it.
  private static final Logger log = LoggerFactory.getLogger(KilnServer.class);

  private final PrintStream report;
  private final RunStarter starter;
  private final String baseDir;
  private PipelineRegistry registry;
  private CronScheduler cron;
  private FileTriggers files;
  private WorkerRuntime.Handle workers;

  PipelineTriggers(PrintStream report, RunStarter starter, String baseDir) {
    this.report = report;
    this.starter = starter;
    this.baseDir = baseDir;
  }

  /** What the triggers act on, made after this listener (they take it or its {@link #fire}). */
  void bind(PipelineRegistry registry, CronScheduler cron, FileTriggers files) {
    this.registry = registry;
    this.cron = cron;
    this.files = files;
  }

  /** The in-process workers, which then follow the queues of the hosted pipelines. */
  void serveWith(WorkerRuntime.Handle workers) {
    this.workers = workers;
  }

  /** The queues of the hosted pipelines' steps, which the in-process workers serve. */
  List<String> queues() {
    Set<String> queues = new LinkedHashSet<>();
    queues.add("default");
    for (Pipeline p : registry.all().values()) {
      p.steps().values().forEach(s -> queues.add(s.queueOr(p.defaults())));
    }
    return List.copyOf(queues);
  }

  /**
   * Reloads a pipeline file when it appears or its modification time or size changes, and unloads
   * the pipeline of a file that was deleted (checked every second).
   */
  void watch(CamelContext camel) throws Exception {
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

  @Override
  public void changed(Pipeline previous, Pipeline current) {
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

  @Override
  public void removed(Pipeline previous) {
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

  void fire(String pipeline, int index, Instant scheduledAt) {
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
    } catch (StoreException e) {
      if (e.getCause() instanceof SQLException sql && "23505".equals(sql.getSQLState())) {
        // runs_cron_once: another firing of this scheduled time already made its run.
        log.info("{} cron {} at {}: already fired", pipeline, index, scheduledAt);
      } else {
        throw e;
      }
    }
  }
}
