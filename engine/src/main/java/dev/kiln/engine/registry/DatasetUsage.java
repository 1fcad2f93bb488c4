package dev.kiln.engine.registry;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Sql;
import java.time.Instant;
import java.util.List;

/** Which runs read a dataset version, and which model versions those runs registered. */
public final class DatasetUsage {
  public record Read(long runId, String stepId, String pipeline, Instant at) {}

  public record Model(String name, int version, long runId) {}

  private final Database db;

  public DatasetUsage(Database db) {
    this.db = db;
  }

  /** The runs that read {@code name@version}, newest first, at most {@code limit}. */
  public List<Read> reads(String name, int version, int limit) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select d.run_id, d.step_id, r.pipeline, d.at from run_dataset_reads d
          join runs r on r.id = d.run_id
         where d.name = ? and d.version = ? order by d.run_id desc limit ?""",
                    rs ->
                        new Read(
                            rs.getLong(1), rs.getString(2), rs.getString(3), Sql.instant(rs, "at")),
                    name,
                    version,
                    limit));
  }

  /** The model versions registered by runs that read {@code name@version}. */
  public List<Model> models(String name, int version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select m.name, m.version, m.run_id from model_versions m
         where m.run_id in (select run_id from run_dataset_reads where name = ? and version = ?)
         order by m.name, m.version""",
                    rs -> new Model(rs.getString(1), rs.getInt(2), rs.getLong(3)),
                    name,
                    version));
  }
}
