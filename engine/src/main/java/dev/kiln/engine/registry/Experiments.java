package dev.kiln.engine.registry;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.util.List;
import java.util.Map;

/** Queries across runs for experiment tracking: runs ranked by a metric. */
public final class Experiments {
  private final Database db;

  public Experiments(Database db) {
    this.db = db;
  }

  /** A run and the value it has for a metric (the last written, as in the model registry). */
  public record Ranked(long runId, String pipeline, String status, double value) {}

  /** The runs (of one pipeline, or all) that wrote the metric, best first. */
  public List<Ranked> top(String pipeline, String metric, int limit, boolean lowestFirst) {
    String order = lowestFirst ? "asc" : "desc";
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        with last as (
          select distinct on (m.run_id) m.run_id, m.value from metrics m
           where m.key = ? order by m.run_id, m.at desc, m.idx desc)
        select r.id, r.pipeline, r.status, l.value from last l join runs r on r.id = l.run_id
         where (?::text is null or r.pipeline = ?)
         order by l.value\s"""
                        + order
                        + ", r.id desc limit ?",
                    rs ->
                        new Ranked(
                            rs.getLong(1), rs.getString(2), rs.getString(3), rs.getDouble(4)),
                    metric,
                    pipeline,
                    pipeline,
                    limit));
  }

  /**
   * Sets tags on a run (merged into its tags) and removes others; false when there is no such run.
   */
  public boolean tag(long runId, Map<String, String> set, List<String> remove) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.update(
                        c,
                        "update runs set tags = (tags || ?) - ?::text[] where id = ?",
                        Jsonb.of(set),
                        remove.toArray(String[]::new),
                        runId)
                    == 1);
  }

  public Map<String, String> tags(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                        c,
                        "select tags::text from runs where id = ?",
                        rs -> Json.readStringMap(rs.getString(1)),
                        runId)
                    .orElse(Map.of()));
  }
}
