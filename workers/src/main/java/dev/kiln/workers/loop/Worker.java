package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.run.Leases;
import dev.kiln.engine.run.ProcessNames;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Listener;
import dev.kiln.engine.store.TaskQueue;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.util.DaemonThreads;
import dev.kiln.workers.process.LocalProcesses;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: claims tasks of its queues while it has free slots, runs each on its own thread,
 * heartbeats their leases and reports results. It sleeps on LISTEN/NOTIFY, so an idle queue costs a
 * wake-up a second and a ready task starts within milliseconds.
 */
final class Worker implements WorkerRuntime.Handle {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final long MAX_WAIT_MS = 1000;
  static final String STOPPING = "worker stopping";

  /** Why a worker stops a step itself: it could not renew the lease for most of its length. */
  static final String LEASE_EXPIRED =
      "lease not renewed: the store was unreachable, so the worker stopped the step before another"
          + " worker could take it over";

  /** The worker's life cycle. */
  enum State {
    /** claiming and running tasks */
    RUNNING,
    /** no new claims; running tasks go on */
    DRAINING,
    /** stopped: nothing runs */
    STOPPED
  }

  private final Engine engine;
  private final WorkerRuntime.Options options;
  private final Semaphore slots;
  private final ExecutorService pool;
  private final ScheduledExecutorService timers;

  private final Heartbeats heartbeats;
  private final ResultRecorder recorder;
  private final StepLimits limits;
  private final Map<Long, Active> active = new ConcurrentHashMap<>();
  private final TaskRunner runner;
  private final Thread poller;
  private volatile State state = State.RUNNING;

  /** The queues it claims from; a server changes them when a pipeline brings a new queue. */
  private volatile List<String> queues;

  /** When (epoch ms) the earliest task in backoff becomes claimable; MAX_VALUE when none. */
  private long nextReadyAt = Long.MAX_VALUE;

  Worker(Engine engine, WorkerRuntime.Options options) {
    this.engine = engine;
    this.options = options;
    this.queues = List.copyOf(options.queues());
    this.slots = new Semaphore(options.slots());
    this.pool = Executors.newFixedThreadPool(options.slots(), DaemonThreads.named("kiln-task"));
    this.timers = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("kiln-timers"));
    this.limits = StepLimits.fromEnvironment();
    this.heartbeats = new Heartbeats(engine, options);
    this.recorder = new ResultRecorder(engine, options, () -> state == State.STOPPED);
    Map<String, Executor> executors = new TreeMap<>();
    ServiceLoader.load(Executor.class).forEach(e -> executors.put(e.name(), e));
    if (options.forceExecutor() != null && !executors.containsKey(options.forceExecutor())) {
      throw new IllegalArgumentException(
          "unknown executor '"
              + options.forceExecutor()
              + "'; available: "
              + String.join(", ", executors.keySet()));
    }
    this.runner =
        new TaskRunner(
            engine, executors, BuiltinStep.all(), options.forceExecutor(), options.name(), limits);
    this.poller = DaemonThreads.named("kiln-poller-" + options.name()).newThread(this::pollLoop);
  }

  @Override
  public void serve(List<String> queues) {
    if (!this.queues.equals(queues)) {
      log.info("worker {}: now serving queues {}", options.name(), queues);
      this.queues = List.copyOf(queues);
      // The poller claims at least once a second (MAX_WAIT_MS), also without a notification.
    }
  }

  void start() {
    int total = options.slots();
    Metrics.get().workerSlots(options.name(), () -> total - slots.availablePermits(), total);
    timers.scheduleWithFixedDelay(this::flushLogs, 100, 100, TimeUnit.MILLISECONDS);
    poller.start();
  }

  private void pollLoop() {
    long reapEvery = Math.max(1000, options.lease().toMillis() / 2);
    long nextReap = 0;
    long backoff = 100;
    while (state == State.RUNNING) {
      try (Listener listen = Listener.open(engine.db(), "kiln_tasks", "kiln_cancel")) {
        backoff = 100;
        // Retries wait out a backoff: learn when the next one is due, then from notifications.
        nextReadyAt =
            engine
                .queue()
                .millisUntilNextReady(claimable())
                .map(ms -> System.currentTimeMillis() + ms)
                .orElse(Long.MAX_VALUE);
        boolean claimNow = true;
        while (state == State.RUNNING) {
          long now = System.currentTimeMillis();
          if (now >= nextReap) {
            reap();
            nextReap = now + reapEvery;
          }
          if (now >= nextReadyAt) {
            claimNow = true;
            nextReadyAt = Long.MAX_VALUE;
            Optional<Long> next = engine.queue().millisUntilNextReady(claimable());
            // A task due right now is claimed below; only a later one sets the next wake-up.
            next.filter(ms -> ms > 0).ifPresent(ms -> nextReadyAt = now + ms);
          }
          if (claimNow && slots.availablePermits() > 0) {
            int asked = slots.availablePermits();
            int claimed = claimOnce();
            if (claimed == asked && slots.availablePermits() > 0) {
              continue; // it took all it asked for: there may be more
            }
          }
          long wait = Math.min(MAX_WAIT_MS, Math.max(1, Math.min(nextReap, nextReadyAt) - now));
          if (slots.availablePermits() == 0) {
            // Full: wait for a slot, not for work; notifications queue up on the connection.
            if (slots.tryAcquire(wait, TimeUnit.MILLISECONDS)) {
              slots.release();
            }
            claimNow = drainNotifications(listen, 0) || claimNow;
            continue;
          }
          // Also claim after a quiet second: a safety net should a notification be missed.
          claimNow = drainNotifications(listen, (int) wait) || wait >= MAX_WAIT_MS;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        if (state != State.RUNNING) {
          return;
        }
        log.warn("worker {}: {}; retrying in {} ms", options.name(), e.getMessage(), backoff);
        try {
          Thread.sleep(backoff + ThreadLocalRandom.current().nextLong(backoff));
        } catch (InterruptedException ie) {
          return;
        }
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Handles pending notifications, waiting up to waitMs for the first (0: only what is there).
   * Returns whether a task became claimable now.
   */
  private boolean drainNotifications(Listener listen, int waitMs) {
    // await(0) would block until a notification arrives: "only what is there" waits 1 ms instead.
    PGNotification[] ns = listen.await(Math.max(1, waitMs));
    boolean ready = false;
    for (PGNotification n : ns) {
      if (n.getName().equals("kiln_cancel")) {
        long runId = Long.parseLong(n.getParameter());
        active.values().stream().filter(a -> a.task().runId() == runId).forEach(heartbeats::now);
        continue;
      }
      long delay = parseDelay(n.getParameter());
      if (delay <= 0) {
        ready = true;
      } else {
        nextReadyAt = Math.min(nextReadyAt, System.currentTimeMillis() + delay);
      }
    }
    return ready;
  }

  private static long parseDelay(String payload) {
    try {
      return payload == null || payload.isEmpty() ? 0 : Long.parseLong(payload);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * Takes back tasks whose worker is gone: leases that expired, and at once those of workers on
   * this host whose process died. Step processes a dead worker left on this host are killed first,
   * so a step never runs twice at the same time here.
   */
  private void reap() {
    if (options.onlyRun() == null) {
      // A run whose kiln run process died goes on here: this worker serves the whole queue.
      List<String> deadDrivers = ProcessNames.deadOnThisHost(engine.leases().drivenRuns().values());
      for (long run :
          engine.leases().adoptAbandoned(deadDrivers, Leases.DRIVER_STALE, options.name())) {
        log.warn("run {}: its kiln run process stopped; {} continues it", run, options.name());
      }
    }
    List<String> dead = ProcessNames.deadOnThisHost(engine.leases().busyWorkers());
    for (Leases.Reaped r : engine.leases().reapLostTasks(dead)) {
      int killed =
          LocalProcesses.killTagged(LocalProcesses.taskTag(r.taskId(), r.attempt(), r.worker()));
      log.warn(
          "took back task {} attempt {} from {}{}",
          r.taskId(),
          r.attempt(),
          r.worker(),
          killed > 0 ? "; killed " + killed + " processes it left behind" : "");
    }
  }

  /**
   * The tasks this worker takes: of its queues (of its run, for a {@code kiln run}), and among
   * those that require an executor, only the ones it has (docs/executors.md).
   */
  private TaskQueue.Claimable claimable() {
    return new TaskQueue.Claimable(
        queues, options.onlyRun(), TaskRunner.runnableExecutors(options.forceExecutor()));
  }

  /**
   * Reserves free slots first, then claims at most that many tasks: never claims what it cannot
   * start.
   */
  private int claimOnce() {
    int free = slots.availablePermits();
    if (free == 0 || belowDiskFloor() || !slots.tryAcquire(free)) {
      return 0;
    }
    List<ClaimedTask> claimed;
    try {
      claimed = engine.queue().claim(options.name(), claimable(), free, options.lease());
    } catch (RuntimeException e) {
      slots.release(free);
      throw e;
    }
    slots.release(free - claimed.size());
    launch(claimed);
    return claimed.size();
  }

  /** Starts claimed tasks, each holding a slot already. */
  private void launch(List<ClaimedTask> claimed) {
    for (ClaimedTask t : claimed) {
      Active a =
          new Active(
              t, new Cancellation(), new LogBuffer(engine.queue(), t.id(), t.attempt(), limits));
      heartbeats.start(a);
      active.put(t.id(), a);
      pool.execute(() -> runTask(a));
    }
  }

  private long diskWarnedAt;

  /**
   * Whether the disk under KILN_HOME has less free space than the floor: then no new work is
   * claimed, so steps cannot fill the disk an embedded PostgreSQL writes to.
   */
  private boolean belowDiskFloor() {
    long usable = DiskSpace.usable(engine.config().home());
    if (usable >= limits.minFreeDisk()) {
      return false;
    }
    long now = System.currentTimeMillis();
    if (now - diskWarnedAt > 60_000) {
      diskWarnedAt = now;
      log.warn(
          "worker {}: only {} free under {}, below the floor of {} (KILN_MIN_FREE_DISK); claiming"
              + " nothing until there is more",
          options.name(),
          StepLimits.describe(usable),
          engine.config().home(),
          StepLimits.describe(limits.minFreeDisk()));
    }
    return true;
  }

  private void runTask(Active a) {
    ClaimedTask t = a.task();
    Completion result;
    long startedNanos = System.nanoTime();
    try {
      result = runner.run(t, a.logs(), a.cancel());
    } catch (InterruptedException e) {
      result = Completion.cancelled(STOPPING);
    } catch (RuntimeException | Error e) {
      // An Error of a built-in (out of memory, stack overflow) fails the step, not the worker:
      // the slot comes back and the attempt is recorded as failed, not lost.
      log.error("task {} of run {} failed in the worker", t.stepId(), t.runId(), e);
      result = Completion.failed("worker error: " + e);
    }
    result = recorder.cancelledBySignal(a, result);
    a.finished = true;
    a.logs().finish();
    // The result may have made the next step ready: it is claimed in the transaction that records
    // the result, for this task's slot and every other free one (the critical path of a chain).
    int held = 1;
    List<ClaimedTask> next = List.of();
    try {
      int extra = state == State.RUNNING && !belowDiskFloor() ? slots.drainPermits() : -1;
      held += Math.max(extra, 0);
      RunService.NextClaim claim =
          extra < 0
              ? RunService.NextClaim.NONE
              : new RunService.NextClaim(options.name(), claimable(), held, options.lease());
      next = recorder.record(a, result, Duration.ofNanos(System.nanoTime() - startedNanos), claim);
    } finally {
      a.heartbeat.cancel(false);
      a.logs().flush();
      active.remove(t.id());
      slots.release(held - next.size());
    }
    launch(next);
    try {
      runner.cleanUp(t, active.values().stream().noneMatch(x -> x.task().runId() == t.runId()));
    } catch (IOException e) {
      log.warn(
          "could not remove the work folder of {} (run {}): {}",
          t.stepId(),
          t.runId(),
          e.getMessage());
    }
  }

  private void flushLogs() {
    active.values().forEach(a -> a.logs().flush());
  }

  @Override
  public void drain(Duration grace) throws InterruptedException {
    if (state == State.RUNNING) {
      state = State.DRAINING;
    }

    long deadline = System.nanoTime() + grace.toNanos();
    while (!active.isEmpty() && System.nanoTime() < deadline) {
      if (slots.tryAcquire(options.slots(), 100, TimeUnit.MILLISECONDS)) {
        slots.release(options.slots());
        break;
      }
    }
  }

  @Override
  public void close() {
    if (state == State.STOPPED) {
      return;
    }
    state = State.STOPPED;

    active.values().forEach(a -> a.cancel().cancel(STOPPING));
    pool.shutdown();
    try {
      if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("worker {}: tasks still running after 30s", options.name());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timers.shutdownNow();
    heartbeats.close();
  }
}
