package dev.kiln.engine.registry;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Feature definitions (entities, sources, views, services) as versions keyed by the sha256 of their
 * canonical form, and the materialization watermark of each view. The current version of a name is
 * the one applied last, so applying an older file again makes its version current again.
 */
public final class FeatureRegistry {
  private static final String COLS =
      "kind, name, version, sha256, spec::text, file, created_at, applied_at";

  private final Database db;

  public FeatureRegistry(Database db) {
    this.db = db;
  }

  /** A definition to apply: its spec is stored as JSON; sha256 is of its canonical form. */
  public record NewDefinition(
      String kind, String name, String sha256, Map<String, Object> spec, String file) {}

  public record Definition(
      String kind,
      String name,
      int version,
      String sha256,
      Map<String, Object> spec,
      String file,
      Instant createdAt,
      Instant appliedAt) {
    public String ref() {
      return name + "@" + version;
    }
  }

  /** What applying did to one definition: created is false when the content was known. */
  public record Applied(Definition definition, boolean created) {}

  /** Applies every definition in one transaction: all become current, or none. */
  public List<Applied> apply(List<NewDefinition> defs) {
    return db.tx()
        .inTransaction(
            c -> {
              // One applier at a time, so version numbers are never shared.
              Sql.query(c, "select pg_advisory_xact_lock(hashtext('kiln_features'))", rs -> 1);
              List<Applied> out = new ArrayList<>();
              for (NewDefinition d : defs) {
                Optional<Definition> same =
                    Sql.one(
                        c,
                        "update feature_definitions set applied_at = now(), file = ?"
                            + " where kind = ? and name = ? and sha256 = ? returning "
                            + COLS,
                        FeatureRegistry::map,
                        d.file(),
                        d.kind(),
                        d.name(),
                        d.sha256());
                if (same.isPresent()) {
                  out.add(new Applied(same.get(), false));
                  continue;
                }
                Definition created =
                    Sql.one(
                            c,
                            """
                    insert into feature_definitions (kind, name, version, sha256, spec, file)
                    select ?, ?, coalesce(max(version), 0) + 1, ?, ?, ?
                      from feature_definitions where kind = ? and name = ?
                    returning\s"""
                                + COLS,
                            FeatureRegistry::map,
                            d.kind(),
                            d.name(),
                            d.sha256(),
                            Jsonb.of(d.spec()),
                            d.file(),
                            d.kind(),
                            d.name())
                        .orElseThrow();
                out.add(new Applied(created, true));
              }
              return out;
            });
  }

  /** The current version of every definition, by kind then name. */
  public List<Definition> current() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select distinct on (kind, name) "
                        + COLS
                        + " from feature_definitions"
                        + " order by kind, name, applied_at desc, version desc",
                    FeatureRegistry::map));
  }

  public Optional<Definition> current(String kind, String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select "
                        + COLS
                        + " from feature_definitions where kind = ? and name = ?"
                        + " order by applied_at desc, version desc limit 1",
                    FeatureRegistry::map,
                    kind,
                    name));
  }

  /** When definitions were last applied: a cache of them is current while this is unchanged. */
  public Optional<Instant> lastApplied() {
    return db.tx()
        .autocommit(
            c ->
                Sql.one(
                        c,
                        "select max(applied_at) as applied_at from feature_definitions",
                        rs -> Optional.ofNullable(Sql.instant(rs, "applied_at")))
                    .flatMap(x -> x));
  }

  /** Every version of the definitions named {@code name} (of any kind), oldest first. */
  public List<Definition> versions(String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select "
                        + COLS
                        + " from feature_definitions where name = ? order by kind, version",
                    FeatureRegistry::map,
                    name));
  }

  /** Where materialization of a view last ended, if it ran. */
  public Optional<Instant> watermark(String view) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select watermark from feature_watermarks where view_name = ?",
                    rs -> Sql.instant(rs, "watermark"),
                    view));
  }

  static Definition map(ResultSet rs) throws SQLException {
    return new Definition(
        rs.getString(1),
        rs.getString(2),
        rs.getInt(3),
        rs.getString(4),
        Json.readMap(rs.getString(5)),
        rs.getString(6),
        Sql.instant(rs, "created_at"),
        Sql.instant(rs, "applied_at"));
  }

  /** For {@link OnlineStore}: the watermark moves in the transaction that loaded the rows. */
  static void setWatermark(Connection c, String view, Instant watermark, long rows)
      throws SQLException {
    Sql.update(
        c,
        """
        insert into feature_watermarks (view_name, watermark, rows) values (?, ?, ?)
        on conflict (view_name) do update
           set watermark = excluded.watermark, rows = feature_watermarks.rows + excluded.rows,
               updated_at = now()""",
        view,
        watermark,
        rows);
  }
}
