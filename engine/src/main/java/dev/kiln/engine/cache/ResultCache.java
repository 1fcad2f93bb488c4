package dev.kiln.engine.cache;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.run.Completion;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step cache in the store: entries are succeeded tasks that ran with a cache key ({@code
 * tasks.cache_key}, migration V11). Reads only; a hit is written by the normal completion
 * (compare-and-set on the attempt), so a reaped attempt cannot settle a task from the cache either.
 */
public final class ResultCache {
  private static final Logger log = LoggerFactory.getLogger(ResultCache.class);

  private final Database db;
  private final ArtifactStore artifacts;

  public ResultCache(Database db, ArtifactStore artifacts) {
    this.db = db;
    this.artifacts = artifacts;
  }

  /** What a worker needs of a task's run to use the cache: its scope and whether to read it. */
  public record RunContext(String pipeline, boolean noCache) {}

  public RunContext context(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        "select pipeline, no_cache from runs where id = ?",
                        rs -> new RunContext(rs.getString(1), rs.getBoolean(2)),
                        runId)
                    .orElseThrow());
  }

  /**
   * The newest entry with this key as a succeeded completion (outputs, metrics, artifacts, image
   * digest) pointing at the task it came from. An entry whose artifacts are no longer in the
   * artifact store is dropped (its key cleared) and the next one is tried.
   */
  public Optional<Completion> lookup(String key) {
    return db.tx()
        .inTransaction(
            c -> {
              while (true) {
                var entry =
                    Sql.one(
                        c,
                        """
            select id, run_id, step_id, outputs::text, image_digest from tasks
             where cache_key = ? and status = 'succeeded' and reused_from is null
             order by id desc limit 1""",
                        rs ->
                            new Object[] {
                              new Completion.CachedFrom(
                                  rs.getLong(1), rs.getLong(2), rs.getString(3)),
                              rs.getString(4),
                              rs.getString(5)
                            },
                        key);
                if (entry.isEmpty()) {
                  return Optional.<Completion>empty();
                }
                var from = (Completion.CachedFrom) entry.get()[0];
                List<Completion.Artifact> arts =
                    Sql.query(
                        c,
                        """
            select name, sha256, size, kind from artifacts where run_id = ? and step_id = ?
             order by name""",
                        rs ->
                            new Completion.Artifact(
                                rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4)),
                        from.runId(),
                        from.stepId());
                var missing = arts.stream().filter(a -> !present(a.sha256())).findFirst();
                if (missing.isPresent()) {
                  log.warn(
                      "dropped the cache entry of run {} step {}: its artifact '{}' ({}) is gone from"
                          + " the artifact store",
                      from.runId(),
                      from.stepId(),
                      missing.get().name(),
                      missing.get().sha256());
                  Sql.update(c, "update tasks set cache_key = null where id = ?", from.taskId());
                  continue;
                }
                List<Completion.Metric> metrics =
                    Sql.query(
                        c,
                        """
            select key, value from metrics where run_id = ? and step_id = ? order by key, idx""",
                        rs -> new Completion.Metric(rs.getString(1), rs.getDouble(2)),
                        from.runId(),
                        from.stepId());
                return Optional.of(
                    new Completion(
                        Completion.Outcome.SUCCEEDED,
                        0,
                        null,
                        Json.readStringMap((String) entry.get()[1]),
                        metrics,
                        arts,
                        (String) entry.get()[2],
                        key,
                        from));
              }
            });
  }

  /** One cache entry, for {@code kiln cache list}. */
  public record Entry(
      String key, String pipeline, String stepId, long runId, java.time.Instant finishedAt) {}

  /** Entries, newest first; all pipelines when {@code pipeline} is null. */
  public List<Entry> list(String pipeline) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select t.cache_key, r.pipeline, t.step_id, t.run_id, t.finished_at
          from tasks t join runs r on r.id = t.run_id
         where t.cache_key is not null and t.status = 'succeeded' and t.reused_from is null
           and (?::text is null or r.pipeline = ?)
         order by t.id desc""",
                    rs ->
                        new Entry(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getLong(4),
                            Sql.instant(rs, "finished_at")),
                    pipeline,
                    pipeline));
  }

  /** Removes entries (the tasks stay, with their results); returns how many. */
  public int clear(String pipeline) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.update(
                    c,
                    """
        update tasks t set cache_key = null from runs r
         where r.id = t.run_id and t.cache_key is not null and t.reused_from is null
           and t.status = 'succeeded' and (?::text is null or r.pipeline = ?)""",
                    pipeline,
                    pipeline));
  }

  /** Whether the store still has the content; a store that cannot answer counts as a miss. */
  private boolean present(String sha256) {
    try {
      return artifacts.exists(sha256);
    } catch (IOException e) {
      log.warn("cannot check artifact {} for a cache hit: {}", sha256, e.getMessage());
      return false;
    }
  }
}
