package dev.kiln.engine.registry;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Dataset versions in the state store; the bytes live in the artifact store under sha256. */
public final class DatasetRegistry {
  private static final String COLS =
      "name, version, sha256, size, kind, rows, schema::text, source_path, run_id, step_id, created_at";

  private final Database db;

  public DatasetRegistry(Database db) {
    this.db = db;
  }

  /** What to record: content already in the artifact store, and what was read from it. */
  public record NewVersion(
      String name,
      String sha256,
      long size,
      String kind,
      Long rows,
      List<DatasetVersion.Column> schema,
      String sourcePath,
      Long runId,
      String stepId) {}

  /** The recorded version; created is false when the same content was already a version. */
  public record Recorded(DatasetVersion version, boolean created) {}

  /**
   * Records a version (or finds the one with the same content) and, when made by a run, that the
   * run read it. One transaction; the name's row is locked so numbers are never shared.
   */
  public Recorded record(NewVersion v) {
    Names.dataset(v.name());
    return db.tx()
        .inTransaction(
            c -> {
              Sql.update(
                  c,
                  "insert into datasets (name) values (?) on conflict (name) do nothing",
                  v.name());
              Sql.one(c, "select 1 from datasets where name = ? for update", rs -> 1, v.name());
              Optional<DatasetVersion> same =
                  Sql.one(
                      c,
                      "select " + COLS + " from dataset_versions where name = ? and sha256 = ?",
                      DatasetRegistry::map,
                      v.name(),
                      v.sha256());
              DatasetVersion out;
              boolean created = same.isEmpty();
              if (same.isPresent()) {
                out = same.get();
              } else {
                int next =
                    Sql.one(
                            c,
                            "select coalesce(max(version), 0) + 1 from dataset_versions where name = ?",
                            rs -> rs.getInt(1),
                            v.name())
                        .orElseThrow();
                out =
                    Sql.one(
                            c,
                            """
            insert into dataset_versions (name, version, sha256, size, kind, rows, schema,
                                          source_path, run_id, step_id)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning\s"""
                                + COLS,
                            DatasetRegistry::map,
                            v.name(),
                            next,
                            v.sha256(),
                            v.size(),
                            v.kind(),
                            v.rows(),
                            Jsonb.of(v.schema()),
                            v.sourcePath(),
                            v.runId(),
                            v.stepId())
                        .orElseThrow();
              }
              if (v.runId() != null) {
                recordRead(c, v.runId(), v.stepId(), out);
              }
              return new Recorded(out, created);
            });
  }

  /** Records that a run read a version it did not make (a pinned version in a reproduction). */
  public void recordRead(long runId, String stepId, DatasetVersion v) {
    db.tx().run(c -> recordRead(c, runId, stepId, v));
  }

  private static void recordRead(Connection c, long runId, String stepId, DatasetVersion v)
      throws SQLException {
    Sql.update(
        c,
        """
        insert into run_dataset_reads (run_id, step_id, name, version) values (?, ?, ?, ?)
        on conflict (run_id, step_id, name) do update set version = excluded.version""",
        runId,
        stepId,
        v.name(),
        v.version());
  }

  /** Pins the versions a new run must use (in the transaction that created the run). */
  public static void pin(Connection c, long runId, List<DatasetVersion> versions)
      throws SQLException {
    for (DatasetVersion v : versions) {
      Sql.update(
          c,
          "insert into run_dataset_pins (run_id, name, version) values (?, ?, ?) on conflict do nothing",
          runId,
          v.name(),
          v.version());
    }
  }

  public Optional<DatasetVersion> pinned(long runId, String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select "
                        + prefixed("d")
                        + """
         from run_dataset_pins p join dataset_versions d on d.name = p.name and d.version = p.version
        where p.run_id = ? and p.name = ?""",
                    DatasetRegistry::map,
                    runId,
                    name));
  }

  /**
   * The dataset versions a run read, by name; a step a retry reused counts with the reads of the
   * run that ran it.
   */
  public List<DatasetVersion> readsOf(long runId) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        with recursive origin (run_id, step_id, reused_from) as (
          select run_id, step_id, reused_from from tasks where run_id = ?
          union all
          select t.run_id, t.step_id, t.reused_from from tasks t join origin o on t.id = o.reused_from)
        select distinct\s"""
                        + prefixed("d")
                        + """
         from origin o
         join run_dataset_reads r on r.run_id = o.run_id and r.step_id = o.step_id
         join dataset_versions d on d.name = r.name and d.version = r.version
        order by d.name, d.version""",
                    DatasetRegistry::map,
                    runId));
  }

  public Optional<DatasetVersion> get(String name, int version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select " + COLS + " from dataset_versions where name = ? and version = ?",
                    DatasetRegistry::map,
                    name,
                    version));
  }

  /** Every version of a data set, oldest first; empty when there is no such data set. */
  public List<DatasetVersion> versions(String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select " + COLS + " from dataset_versions where name = ? order by version",
                    DatasetRegistry::map,
                    name));
  }

  /** The latest version of every data set, by name, with how many versions it has. */
  public List<Map.Entry<DatasetVersion, Integer>> latest() {
    return db.tx()
        .inTransaction(
            c -> {
              List<Map.Entry<DatasetVersion, Integer>> out = new ArrayList<>();
              Sql.query(
                  c,
                  "select "
                      + prefixed("d")
                      + """
          , (select count(*) from dataset_versions x where x.name = d.name) as n
           from dataset_versions d
          where d.version = (select max(version) from dataset_versions x where x.name = d.name)
          order by d.name""",
                  rs -> out.add(Map.entry(map(rs), rs.getInt("n"))));
              return out;
            });
  }

  private static String prefixed(String t) {
    StringBuilder sb = new StringBuilder();
    for (String col : COLS.split(",\\s*")) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(t).append('.').append(col);
    }
    return sb.toString();
  }

  static DatasetVersion map(ResultSet rs) throws SQLException {
    List<DatasetVersion.Column> schema = new ArrayList<>();
    for (Object o : Json.read(rs.getString(7), List.class)) {
      Map<?, ?> m = (Map<?, ?>) o;
      schema.add(
          new DatasetVersion.Column(String.valueOf(m.get("name")), String.valueOf(m.get("type"))));
    }
    return new DatasetVersion(
        rs.getString(1),
        rs.getInt(2),
        rs.getString(3),
        rs.getLong(4),
        rs.getString(5),
        Sql.longOrNull(rs, "rows"),
        schema,
        rs.getString(8),
        Sql.longOrNull(rs, "run_id"),
        rs.getString(10),
        Sql.instant(rs, "created_at"));
  }
}
