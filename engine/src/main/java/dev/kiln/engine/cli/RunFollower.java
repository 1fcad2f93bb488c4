package dev.kiln.engine.cli;

import dev.kiln.dsl.model.MatrixTasks;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.run.ProcessNames;
import dev.kiln.engine.run.Summary;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Listener;
import dev.kiln.engine.store.RunEvent;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.RunStore;
import dev.kiln.engine.store.RunStore.RegisteredModel;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.Completion.CachedFrom;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Drives a run to its end in this process: starts in-process workers for the pipeline's queues,
 * prints each step state change as it happens (woken by LISTEN, not by polling), and prints the
 * summary.
 */
final class RunFollower {
  private final Engine engine;
  private final boolean json;
  private final String executor;
  private final int slots;
  private final boolean noCache;
  private final PrintStream progress;
  private final boolean tty = System.console() != null;
  private boolean serveQueue;

  RunFollower(Engine engine, boolean json, String executor, int slots) {
    this(engine, json, executor, slots, false);
  }

  RunFollower(Engine engine, boolean json, String executor, int slots, boolean noCache) {
    this.engine = engine;
    this.json = json;
    this.executor = executor;
    this.slots = slots;
    this.noCache = noCache;
    this.progress = json ? System.err : System.out;
  }

  /**
   * Whether the in-process workers also take other runs' steps from the queue ({@code kiln run
   * --serve-queue}); by default they claim only this run's tasks.
   */
  RunFollower serveQueue(boolean serve) {
    this.serveQueue = serve;
    return this;
  }

  /** How often a driver heartbeats; silent for Leases.DRIVER_STALE it is presumed dead. */
  static final Duration DRIVER_BEAT = Duration.ofSeconds(3);

  int follow(long runId, Pipeline pipeline) throws Exception {
    return follow(runId, pipeline, null);
  }

  int follow(long runId, Pipeline pipeline, String driver) throws Exception {
    Set<String> queues = new LinkedHashSet<>();
    queues.add("default");
    pipeline.steps().values().forEach(s -> queues.add(s.queueOr(pipeline.defaults())));
    String name = driver != null ? driver : ProcessNames.of("run");
    long t0 = System.nanoTime();
    int tasks = pipeline.steps().values().stream().mapToInt(MatrixTasks::size).sum();
    progress.println(
        "run "
            + runId
            + " of "
            + pipeline.name()
            + " ("
            + pipeline.steps().size()
            + " steps"
            + (tasks == pipeline.steps().size() ? "" : ", " + tasks + " tasks")
            + ")");
    if (executor != null) {
      progress.println("every step runs with the '" + executor + "' executor (--executor)");
    }
    if (noCache) {
      progress.println("steps with cache: true run without reading the cache (--no-cache)");
    }
    WorkerRuntime.Handle workers =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    name,
                    List.copyOf(queues),
                    slots,
                    Duration.ofSeconds(30),
                    executor,
                    serveQueue ? null : runId));
    // Ctrl-C or SIGTERM cancels the run: its steps are stopped, the loop below sees the end and
    // prints the summary, and the command exits 130. A second signal exits at once; the
    // shutdown hook then still cancels the run and stops its processes rather than orphaning them.
    Interrupts interrupts =
        Interrupts.install(
            () -> {
              progress.println("interrupted: cancelling run " + runId);
              engine
                  .db()
                  .tx()
                  .inTransaction(
                      c -> engine.runs().cancel(c, runId, "interrupted: kiln run got a signal"));
            });
    Thread hook =
        new Thread(
            () -> {
              engine.runs().cancel(runId);
              workers.close();
            },
            "kiln-cancel-on-exit");
    Runtime.getRuntime().addShutdownHook(hook);
    try (Listener listen = Listener.open(engine.db(), "kiln_events")) {
      long lastEvent = 0;
      long nextBeat = 0;
      Set<Long> printed = new HashSet<>();
      while (true) {
        if (driver != null && System.nanoTime() >= nextBeat) {
          engine.leases().touchDriver(runId, driver);
          nextBeat = System.nanoTime() + DRIVER_BEAT.toNanos();
        }
        // The end and the events in one snapshot, so the events that led to the end are printed
        // too; once ended, all of them (printed skips those already shown).
        RunStore.Progress now = engine.store().progress(runId, lastEvent);
        for (RunEvent e : now.events()) {
          lastEvent = Math.max(lastEvent, e.id());
          if (printed.add(e.id())) {
            print(e, t0);
          }
        }
        if (now.ended()) {
          break;
        }
        listen.await(1000);
      }
      if (serveQueue && !interrupts.received() && engine.leases().busyWorkers().contains(name)) {
        // Steps of other runs this process took (--serve-queue) are finished, not abandoned;
        // a signal meanwhile hands them back (released, not counted against their retries).
        progress.println("finishing the steps of other runs this process took (--serve-queue)");
        while (!interrupts.received() && engine.leases().busyWorkers().contains(name)) {
          workers.drain(Duration.ofSeconds(1));
        }
      }
    } finally {
      workers.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The JVM is already exiting: the hook runs or has run.
      }
    }
    int code = summary(runId, pipeline, t0);
    interrupts.close();
    return interrupts.received() ? Interrupts.EXIT : code;
  }

  /** Whole numbers as they are; others to four significant digits, without trailing zeros. */
  static String number(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return String.valueOf(v);
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return String.valueOf((long) v);
    }
    return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
  }

  /** What the run produced that a person looks at next: its metrics and registered models. */
  private void printResults(long runId) {
    // Each task's last value of a key; a key several tasks wrote (the combinations of a matrix
    // step) is shown as the range of their values.
    List<String> m =
        engine.store().metricRanges(runId).stream()
            .map(
                r ->
                    r.tasks() == 1
                        ? r.key() + "=" + number(r.min())
                        : r.key()
                            + "="
                            + number(r.min())
                            + ".."
                            + number(r.max())
                            + " ("
                            + r.tasks()
                            + " tasks)")
            .toList();
    if (!m.isEmpty()) {
      progress.println("metrics: " + String.join("  ", m));
    }
    for (RegisteredModel mv : engine.store().models(runId)) {
      progress.println(
          "model: "
              + mv.name()
              + " version "
              + mv.version()
              + (mv.aliases() == null ? " (no alias)" : " (" + mv.aliases() + ")")
              + "    next: kiln models show "
              + mv.name()
              + "; kiln lineage "
              + mv.name()
              + "@"
              + mv.version());
    }
  }

  private static final String CACHED = CachedFrom.PREFIX;

  private void print(RunEvent e, long t0) {
    if (e.stepId() == null) {
      return;
    }
    if (e.status().equals("queued")) {
      return;
    }
    double s = (System.nanoTime() - t0) / 1e9;
    if (e.status().equals("succeeded") && e.detail() != null && e.detail().startsWith(CACHED)) {
      // A cache hit did not run: say so rather than show a success that took no time.
      progress.printf(
          "%8.2fs %s %-24s cached  (%s)%n",
          s,
          tty ? "\u001b[36m≡\u001b[0m" : "== ",
          e.stepId(),
          e.detail().substring(CACHED.length()));
      return;
    }
    String mark =
        switch (e.status()) {
          case "succeeded" -> tty ? "\u001b[32m✓\u001b[0m" : "ok ";
          case "failed" -> tty ? "\u001b[31m✗\u001b[0m" : "ERR";
          case "running" -> tty ? "\u001b[34m▶\u001b[0m" : "-> ";
          case "retrying" -> tty ? "\u001b[33m↻\u001b[0m" : "<> ";
          default -> tty ? "\u001b[90m·\u001b[0m" : " . ";
        };
    String detail = e.detail() == null ? "" : "  (" + e.detail() + ")";
    progress.printf("%8.2fs %s %-24s %s%s%n", s, mark, e.stepId(), e.status(), detail);
  }

  private int summary(long runId, Pipeline pipeline, long t0) {
    RunRecord run = engine.store().run(runId).orElseThrow();
    List<TaskRecord> tasks = engine.store().tasks(runId);
    if (json) {
      System.out.println(Summary.json(run, tasks, pipeline));
    }
    double s = (System.nanoTime() - t0) / 1e9;
    var counts = new TreeMap<String, Integer>();
    tasks.forEach(t -> counts.merge(t.status().db(), 1, Integer::sum));
    List<String> parts = new ArrayList<>();
    counts.forEach((k, v) -> parts.add(v + " " + k));
    progress.printf(
        "run %d %s in %.2fs: %s%n", runId, run.status().db(), s, String.join(", ", parts));
    printResults(runId);
    if (run.status() != RunStatus.SUCCEEDED) {
      for (TaskRecord t : tasks) {
        if (t.status() == StepStatus.FAILED) {
          progress.println("  " + t.stepId() + ": " + (t.error() == null ? "failed" : t.error()));
        }
      }
      progress.println("logs: kiln logs " + runId + "    retry: kiln retry " + runId);
    }
    return run.status() == RunStatus.SUCCEEDED ? Main.OK : Main.FAILED;
  }
}
