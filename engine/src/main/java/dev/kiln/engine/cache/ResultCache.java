package dev.kiln.engine.cache;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.store.CacheEntries;
import dev.kiln.engine.store.CacheEntries.Entry;
import dev.kiln.engine.store.CacheEntries.RunContext;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.task.Completion;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step cache: lookups of earlier results by key. Reads only; a hit is written by the normal
 * completion (compare-and-set on the attempt), so a reaped attempt cannot settle a task from the
 * cache either.
 */
public final class ResultCache {
  private static final Logger log = LoggerFactory.getLogger(ResultCache.class);

  private final CacheEntries entries;
  private final ArtifactStore artifacts;

  public ResultCache(Database db, ArtifactStore artifacts) {
    this.entries = new CacheEntries(db);
    this.artifacts = artifacts;
  }

  public RunContext context(long runId) {
    return entries.context(runId);
  }

  /**
   * The newest entry with this key as a succeeded completion (outputs, metrics, artifacts, image
   * digest) pointing at the task it came from. An entry whose artifacts are no longer in the
   * artifact store is dropped (its key cleared) and the next one is tried.
   */
  public Optional<Completion> lookup(String key) {
    return entries
        .newest(
            key,
            (from, arts) -> {
              var missing = arts.stream().filter(a -> !present(a.sha256())).findFirst();
              missing.ifPresent(
                  m ->
                      log.warn(
                          "dropped the cache entry of run {} step {}: its artifact '{}' ({}) is"
                              + " gone from the artifact store",
                          from.runId(),
                          from.stepId(),
                          m.name(),
                          m.sha256()));
              return missing;
            })
        .map(
            hit ->
                new Completion(
                    Completion.Outcome.SUCCEEDED,
                    0,
                    null,
                    hit.outputs(),
                    hit.metrics(),
                    hit.artifacts(),
                    hit.imageDigest(),
                    key,
                    hit.from()));
  }

  /** Entries, newest first; all pipelines when {@code pipeline} is null. */
  public List<Entry> list(String pipeline) {
    return entries.list(pipeline);
  }

  /** Removes entries (the tasks stay, with their results); returns how many. */
  public int clear(String pipeline) {
    return entries.clear(pipeline);
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
