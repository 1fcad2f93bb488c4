package dev.kiln.engine.store;

import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.Completion.Artifact;
import dev.kiln.engine.task.Completion.CachedFrom;
import dev.kiln.engine.task.Completion.Metric;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The step cache's rows: entries are succeeded tasks that ran with a cache key ({@code
 * tasks.cache_key}, migration V11) and reused nothing.
 */
public final class CacheEntries {
  private final Database db;

  public CacheEntries(Database db) {
    this.db = db;
  }

  /** What a worker needs of a task's run to use the cache: its scope and whether to read it. */
  public record RunContext(String pipeline, boolean noCache) {}

  /** One cache entry, for {@code kiln cache list}. */
  public record Entry(String key, String pipeline, String stepId, long runId, Instant finishedAt) {}

  /** An entry's result, as stored. */
  public record Hit(
      CachedFrom from,
      Map<String, String> outputs,
      String imageDigest,
      List<Artifact> artifacts,
      List<Metric> metrics) {}

  /** Whether an entry's artifacts are all still there; a missing one is named. */
  @FunctionalInterface
  public interface Check {
    Optional<Artifact> missing(CachedFrom from, List<Artifact> artifacts);
  }

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
   * The newest entry with this key that passes {@code check}; an entry that does not is dropped
   * (its key cleared) and the next one is tried.
   */
  public Optional<Hit> newest(String key, Check check) {
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
                            new Hit(
                                new CachedFrom(rs.getLong(1), rs.getLong(2), rs.getString(3)),
                                Json.readStringMap(rs.getString(4)),
                                rs.getString(5),
                                List.of(),
                                List.of()),
                        key);
                if (entry.isEmpty()) {
                  return Optional.<Hit>empty();
                }
                CachedFrom from = entry.get().from();
                List<Artifact> arts = artifacts(c, from);
                if (check.missing(from, arts).isPresent()) {
                  Sql.update(c, "update tasks set cache_key = null where id = ?", from.taskId());
                  continue;
                }
                Hit e = entry.get();
                return Optional.of(
                    new Hit(from, e.outputs(), e.imageDigest(), arts, metrics(c, from)));
              }
            });
  }

  private static List<Artifact> artifacts(Connection c, CachedFrom from) throws SQLException {
    return Sql.query(
        c,
        """
        select name, sha256, size, kind from artifacts where run_id = ? and step_id = ?
         order by name""",
        rs -> new Artifact(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4)),
        from.runId(),
        from.stepId());
  }

  private static List<Metric> metrics(Connection c, CachedFrom from) throws SQLException {
    return Sql.query(
        c,
        "select key, value from metrics where run_id = ? and step_id = ? order by key, idx",
        rs -> new Completion.Metric(rs.getString(1), rs.getDouble(2)),
        from.runId(),
        from.stepId());
  }

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
}
