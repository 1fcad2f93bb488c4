package dev.kiln.engine.store;

import java.util.Optional;

/** The YAML source of pipelines Kiln has run, found by the pipeline's name. */
public final class PipelineSources {
  /** A stored pipeline: the file it was read from (null when it came from no file) and its text. */
  public record Source(String file, String text) {}

  private final Database db;

  public PipelineSources(Database db) {
    this.db = db;
  }

  /** The newest version stored under {@code name}, if Kiln has run a pipeline of that name. */
  public Optional<Source> latest(String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    """
                    select source_file, source from pipeline_versions where name = ?
                    order by created_at desc limit 1""",
                    rs -> new Source(rs.getString(1), rs.getString(2)),
                    name));
  }
}
