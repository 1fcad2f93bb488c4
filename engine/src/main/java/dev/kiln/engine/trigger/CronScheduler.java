package dev.kiln.engine.trigger;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.dsl.parse.CronSyntax;
import dev.kiln.engine.store.StoreException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TimeZone;
import javax.sql.DataSource;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.Job;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobExecutionContext;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.StdSchedulerFactory;
import org.quartz.impl.matchers.GroupMatcher;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cron triggers of every loaded pipeline, in Quartz with its JDBC job store on the state
 * store's PostgreSQL, clustered: every {@code kiln server} on the database runs one of these and
 * each firing happens on one of them. A firing calls {@link Fire} with the time it was scheduled
 * for; the run it starts is keyed by that time, so even a double firing makes one run.
 */
public final class CronScheduler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CronScheduler.class);
  private static final String FIRE = "kiln.fire";

  /** Called for each firing: pipeline name, index of the trigger in its list, scheduled time. */
  @FunctionalInterface
  public interface Fire {
    void fire(String pipeline, int index, Instant scheduledAt);
  }

  private final Scheduler scheduler;

  public CronScheduler(DataSource ds, String instanceName, Fire fire) {
    String dsName = "kiln-" + System.identityHashCode(this);
    DBConnectionManager.getInstance()
        .addConnectionProvider(
            dsName,
            new ConnectionProvider() {
              @Override
              public Connection getConnection() throws SQLException {
                return ds.getConnection();
              }

              @Override
              public void shutdown() {}

              @Override
              public void initialize() {}
            });
    Properties q = new Properties();
    q.setProperty("org.quartz.scheduler.instanceName", instanceName);
    q.setProperty("org.quartz.scheduler.instanceId", "AUTO");
    q.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
    // Picks up schedules another server added within a second.
    q.setProperty("org.quartz.scheduler.idleWaitTime", "1000");
    q.setProperty("org.quartz.threadPool.threadCount", "4");
    q.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
    q.setProperty(
        "org.quartz.jobStore.driverDelegateClass",
        "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
    q.setProperty("org.quartz.jobStore.dataSource", dsName);
    q.setProperty("org.quartz.jobStore.tablePrefix", "QRTZ_");
    q.setProperty("org.quartz.jobStore.useProperties", "true");
    q.setProperty("org.quartz.jobStore.isClustered", "true");
    q.setProperty("org.quartz.jobStore.clusterCheckinInterval", "1000");
    q.setProperty("org.quartz.jobStore.acquireTriggersWithinLock", "true");
    // Quartz waits this long between tries to reach the store after a failure (default 15 s):
    // firings resume within about a second of the store coming back.
    q.setProperty("org.quartz.jobStore.dbRetryInterval", "1000");
    // A firing more than a second late counts as missed, so 'catchup' decides what happens.
    q.setProperty("org.quartz.jobStore.misfireThreshold", "1000");
    try {
      StdSchedulerFactory factory = new StdSchedulerFactory(q);
      this.scheduler = factory.getScheduler();
      scheduler.getContext().put(FIRE, fire);
    } catch (SchedulerException e) {
      throw new IllegalStateException("cannot start the Quartz scheduler: " + e.getMessage(), e);
    }
  }

  public void start() throws SchedulerException {
    scheduler.start();
  }

  /**
   * Makes Quartz hold exactly the pipeline's cron triggers. A trigger whose expression, zone and
   * catchup did not change is left alone, so its next fire time and missed firings survive a
   * restart or a reload.
   */
  public void sync(Pipeline p) throws SchedulerException {
    List<Trigger.Cron> crons = new ArrayList<>();
    p.triggers()
        .forEach(
            t -> {
              if (t instanceof Trigger.Cron c) {
                crons.add(c);
              }
            });
    for (int i = 0; i < crons.size(); i++) {
      Trigger.Cron c = crons.get(i);
      String fingerprint = fingerprint(c);
      TriggerKey key = TriggerKey.triggerKey("cron-" + i, p.name());
      org.quartz.Trigger existing = scheduler.getTrigger(key);
      if (existing != null && fingerprint.equals(existing.getDescription())) {
        continue;
      }
      JobDetail job =
          JobBuilder.newJob(FireJob.class)
              .withIdentity("cron-" + i, p.name())
              .usingJobData("pipeline", p.name())
              .usingJobData("index", String.valueOf(i))
              .storeDurably()
              .build();
      CronScheduleBuilder schedule =
          CronScheduleBuilder.cronSchedule(CronSyntax.toQuartz(c.expression()))
              .inTimeZone(TimeZone.getTimeZone(c.timezone() == null ? "UTC" : c.timezone()));
      schedule =
          switch (catchup(c)) {
            case "none" -> schedule.withMisfireHandlingInstructionDoNothing();
            case "all" -> schedule.withMisfireHandlingInstructionIgnoreMisfires();
            default -> schedule.withMisfireHandlingInstructionFireAndProceed();
          };
      CronTrigger trigger =
          TriggerBuilder.newTrigger()
              .withIdentity(key)
              .withDescription(fingerprint)
              .forJob(job)
              .withSchedule(schedule)
              .build();
      scheduler.scheduleJob(job, Set.of(trigger), true);
      log.info(
          "scheduled {} cron {} '{}' ({}, catchup {})",
          p.name(),
          i,
          c.expression(),
          c.timezone() == null ? "UTC" : c.timezone(),
          catchup(c));
    }
    for (JobKey job : scheduler.getJobKeys(GroupMatcher.jobGroupEquals(p.name()))) {
      int index = Integer.parseInt(job.getName().substring("cron-".length()));
      if (index >= crons.size()) {
        scheduler.deleteJob(job);
      }
    }
  }

  /** Drops every cron trigger of a pipeline (it was renamed). */
  public void remove(String pipeline) throws SchedulerException {
    scheduler.deleteJobs(List.copyOf(scheduler.getJobKeys(GroupMatcher.jobGroupEquals(pipeline))));
  }

  /** Default {@code last}: a missed retraining runs once when a server is back. */
  public static String catchup(Trigger.Cron c) {
    return c.catchup() == null ? "last" : c.catchup();
  }

  private static String fingerprint(Trigger.Cron c) {
    return CronSyntax.toQuartz(c.expression())
        + " | "
        + (c.timezone() == null ? "UTC" : c.timezone())
        + " | "
        + catchup(c);
  }

  /** The times a cron trigger fires in [from, to], at most {@code limit + 1} of them. */
  public static List<Instant> fireTimes(Trigger.Cron c, Instant from, Instant to, int limit) {
    var cron = CronSyntax.parse(c.expression(), c.timezone());
    List<Instant> out = new ArrayList<>();
    Date next = cron.getNextValidTimeAfter(Date.from(from.minusMillis(1)));
    while (next != null && !next.toInstant().isAfter(to) && out.size() <= limit) {
      out.add(next.toInstant());
      next = cron.getNextValidTimeAfter(next);
    }
    return out;
  }

  @Override
  public void close() {
    try {
      scheduler.shutdown(true);
    } catch (SchedulerException e) {
      log.warn("Quartz did not shut down cleanly: {}", e.getMessage());
    }
  }

  /** How long a firing keeps trying to start its run while the store is unreachable. */
  static final Duration FIRE_RETRY = Duration.ofMinutes(5);

  /** The Quartz job of every cron trigger; public because Quartz instantiates it. */
  public static final class FireJob implements Job {
    @Override
    public void execute(JobExecutionContext ctx) {
      try {
        Fire fire = (Fire) ctx.getScheduler().getContext().get(FIRE);
        var data = ctx.getMergedJobDataMap();
        String pipeline = data.getString("pipeline");
        Instant at = ctx.getScheduledFireTime().toInstant();
        // A firing taken just before the store went away is tried again until it is back (the
        // store refuses a second cron run for the same scheduled time, so a retry after a start
        // whose answer was lost starts nothing); firings due while it is away are misfires,
        // handled by 'catchup' once Quartz reaches the store again.
        long waitMs = 500;
        long deadline = System.nanoTime() + FIRE_RETRY.toNanos();
        while (true) {
          try {
            fire.fire(pipeline, Integer.parseInt(data.getString("index")), at);
            return;
          } catch (StoreException e) {
            if (!e.isTransient() || System.nanoTime() > deadline) {
              throw e;
            }
            log.warn("cron firing of {} at {}: store unreachable, trying again", pipeline, at);
            Thread.sleep(waitMs);
            waitMs = Math.min(waitMs * 2, 10_000);
          }
        }
      } catch (SchedulerException e) {
        log.error("cron firing lost: {}", e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the scheduler is shutting down
      }
    }
  }
}
