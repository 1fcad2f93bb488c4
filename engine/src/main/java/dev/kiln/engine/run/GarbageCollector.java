package dev.kiln.engine.run;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Retention;
import dev.kiln.engine.util.DaemonThreads;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Retention ({@code kiln gc}, {@code kiln server --retention}): deletes finished runs older than an
 * age with their tasks, attempts, logs, events, metrics, artifact rows and trigger keys, keeping
 * what the model registry, dataset versions and lineage still name ({@link Retention} says which),
 * then removes the stored content no remaining row names, and served models' logged traffic older
 * than the age. Works in batches of {@link #BATCH} runs, each its own short transactions, so a
 * server keeps running steps while it collects.
 */
public final class GarbageCollector {
  /** Runs deleted per batch. */
  static final int BATCH = 100;

  /**
   * Content stored (or stored again) this recently stays even when no row names it: a step may have
   * stored it and not yet recorded its artifact.
   */
  public static final Duration CONTENT_GRACE = Duration.ofHours(1);

  private final Retention retention;
  private final ArtifactStore artifacts;

  public GarbageCollector(Database db, ArtifactStore artifacts) {
    this.retention = new Retention(db);
    this.artifacts = artifacts;
  }

  /** What {@link #collect} would delete now, per kind of row, and "blobs" for stored content. */
  public Map<String, Long> dryRun(Duration olderThan) {
    return retention.count(olderThan);
  }

  /**
   * Deletes; returns the counts per kind (as {@link #dryRun}) of what went. {@code problems} hears
   * of content that could not be removed (the rows are gone; a later run of gc does not see it
   * again, so the message names it).
   */
  public Map<String, Long> collect(Duration olderThan, Consumer<String> problems) {
    Map<String, Long> total = new LinkedHashMap<>();
    Retention.KINDS.forEach(k -> total.put(k, 0L));
    long blobs = 0;
    Instant notSince = Instant.now().minus(CONTENT_GRACE);
    while (true) {
      List<Long> runs = retention.nextRuns(olderThan, BATCH);
      if (runs.isEmpty()) {
        break;
      }
      Retention.Deleted d = retention.delete(runs);
      d.rows().forEach((k, v) -> total.merge(k, v, Long::sum));
      Set<String> contents = new LinkedHashSet<>(d.contents());
      for (String sha : contents) {
        if (retention.referenced(sha)) {
          continue;
        }
        try {
          if (artifacts.delete(sha, notSince)) {
            blobs++;
          }
        } catch (IOException e) {
          problems.accept(
              "kiln gc: cannot remove " + artifacts.describe(sha) + ": " + e.getMessage());
        }
      }
      if (d.rows().get("runs") == 0) {
        break; // every run of the batch gained a reference meanwhile; the next gc looks again
      }
    }
    total.put("blobs", blobs);
    total.put("predictions", retention.deletePredictions(olderThan));
    return total;
  }

  /**
   * Collects now and then every {@code every} on a daemon thread of its own, until the returned
   * handle is closed; each collection that deleted something is reported to {@code log} in one
   * line, and one that failed (the store away) is reported and tried again at the next tick.
   */
  public AutoCloseable every(Duration every, Duration olderThan, Consumer<String> log) {
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("kiln-retention"));
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            Map<String, Long> gone = collect(olderThan, log);
            if (gone.values().stream().anyMatch(n -> n > 0)) {
              log.accept("kiln server: retention deleted " + gone);
            }
          } catch (RuntimeException e) {
            log.accept("kiln server: retention failed, trying again in " + every + ": " + e);
          }
        },
        0,
        every.toMillis(),
        TimeUnit.MILLISECONDS);
    return timer::shutdownNow;
  }
}
