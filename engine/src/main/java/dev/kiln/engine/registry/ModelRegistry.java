package dev.kiln.engine.registry;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Models, their numbered versions and aliases. Every alias move is one transaction that updates
 * {@code model_aliases} and appends to {@code model_alias_events}, with the model's row locked so
 * moves and new versions of one model happen one after the other.
 */
public final class ModelRegistry {
  private static final String COLS =
      """
      name, version, artifact_sha256, artifact_size, artifact_kind, run_id, step_id, pipeline,
      pipeline_version, git_commit, metrics::text, params::text, tags::text, created_by, created_at""";

  private final Database db;

  public ModelRegistry(Database db) {
    this.db = db;
  }

  /** A version to register; run metrics, params and pipeline version are read from runId. */
  public record NewVersion(
      String name,
      String artifactSha256,
      long artifactSize,
      String artifactKind,
      Long runId,
      String stepId,
      String gitCommit,
      Map<String, String> tags,
      String alias,
      String who,
      String why) {

    /**
     * A version made of a file already in the artifact store, registered without a run (no run,
     * step, commit or tags): a model trained outside Kiln, a benchmark's or a test's model.
     */
    public static NewVersion ofFile(
        ArtifactStore.Stored stored, String name, String alias, String who, String why) {
      return new NewVersion(
          name,
          stored.sha256(),
          stored.size(),
          stored.kind(),
          null,
          null,
          null,
          Map.of(),
          alias,
          who,
          why);
    }
  }

  /**
   * An alias move; from is null when the alias was new; moved is false when it already pointed
   * there.
   */
  public record Move(String name, String alias, Integer from, int to, boolean moved) {}

  public ModelVersion register(NewVersion v) {
    return db.tx().inTransaction(c -> register(c, v));
  }

  /** {@link #register(NewVersion)} inside the caller's transaction (an exactly-once effect). */
  public ModelVersion register(Connection c, NewVersion v) throws SQLException {
    return insert(c, v, null);
  }

  /** {@link #register(Connection, NewVersion)} with the metrics to record (null: metricsOf). */
  public ModelVersion register(Connection c, NewVersion v, Map<String, Double> metrics)
      throws SQLException {
    return insert(c, v, metrics);
  }

  /**
   * What {@link #registerOrReuse} did: a new version, or an existing one with the same artifact.
   */
  public record Registered(ModelVersion version, boolean existing) {}

  /**
   * Registers {@code v} unless a version of the model already has the same artifact (sha256): then
   * returns the latest such version instead of a copy (its alias, if any, is moved to it). {@code
   * metrics} are recorded on a new version; null means {@link #metricsOf}.
   */
  public Registered registerOrReuse(Connection c, NewVersion v, Map<String, Double> metrics)
      throws SQLException {
    Names.model(v.name());
    Sql.update(c, "insert into models (name) values (?) on conflict (name) do nothing", v.name());
    lockModel(c, v.name());
    Optional<ModelVersion> same =
        Sql.one(
            c,
            "select "
                + COLS
                + " from model_versions where name = ? and artifact_sha256 = ?"
                + " order by version desc limit 1",
            ModelRegistry::map,
            v.name(),
            v.artifactSha256());
    if (same.isPresent()) {
      if (v.alias() != null) {
        ModelAliases.move(
            c, v.name(), Names.alias(v.alias()), same.get().version(), v.who(), v.why());
      }
      return new Registered(same.get(), true);
    }
    return new Registered(insert(c, v, metrics), false);
  }

  /**
   * The metrics a model version of this run carries: those of the steps that produced the artifact
   * (their last value per key), or, when no step of the run produced it or those wrote none, the
   * run's.
   */
  public static Map<String, Double> metricsOf(Connection c, long runId, String artifactSha256)
      throws SQLException {
    Map<String, Double> out = new LinkedHashMap<>();
    Sql.query(
        c,
        """
        select distinct on (m.key) m.key, m.value from metrics m
         where m.run_id = ?
           and m.step_id in (select a.step_id from artifacts a where a.run_id = ? and a.sha256 = ?)
         order by m.key, m.at desc, m.idx desc""",
        rs -> out.put(rs.getString(1), rs.getDouble(2)),
        runId,
        runId,
        artifactSha256);
    return out.isEmpty() ? runMetrics(c, runId) : out;
  }

  private ModelVersion insert(Connection c, NewVersion v, Map<String, Double> given)
      throws SQLException {
    Names.model(v.name());
    if (v.alias() != null) {
      Names.alias(v.alias());
    }
    Sql.update(c, "insert into models (name) values (?) on conflict (name) do nothing", v.name());
    lockModel(c, v.name());
    int next =
        Sql.one(
                c,
                "select coalesce(max(version), 0) + 1 from model_versions where name = ?",
                rs -> rs.getInt(1),
                v.name())
            .orElseThrow();
    String pipeline = null;
    String pipelineVersion = null;
    String params = "{}";
    Map<String, Double> metrics = new LinkedHashMap<>();
    if (v.runId() != null) {
      String[] run =
          Sql.one(
                  c,
                  "select pipeline, pipeline_version, params::text from runs where id = ?",
                  rs -> new String[] {rs.getString(1), rs.getString(2), rs.getString(3)},
                  v.runId())
              .orElseThrow(() -> new RegistryException("no run " + v.runId()));
      pipeline = run[0];
      pipelineVersion = run[1];
      params = run[2];
      metrics.putAll(given != null ? given : metricsOf(c, v.runId(), v.artifactSha256()));
    } else if (given != null) {
      metrics.putAll(given);
    }
    ModelVersion mv =
        Sql.one(
                c,
                """
          insert into model_versions (name, version, artifact_sha256, artifact_size, artifact_kind,
              run_id, step_id, pipeline, pipeline_version, git_commit, metrics, params, tags, created_by)
          values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?) returning\s"""
                    + COLS,
                ModelRegistry::map,
                v.name(),
                next,
                v.artifactSha256(),
                v.artifactSize(),
                v.artifactKind(),
                v.runId(),
                v.stepId(),
                pipeline,
                pipelineVersion,
                v.gitCommit(),
                Jsonb.of(metrics),
                params,
                Jsonb.of(v.tags()),
                v.who())
            .orElseThrow();
    if (v.alias() != null) {
      ModelAliases.move(c, v.name(), v.alias(), next, v.who(), v.why());
    }
    return mv;
  }

  /** A run's metrics: the last value of each key (the latest write when several steps wrote it). */
  public Map<String, Double> runMetrics(long runId) {
    return db.tx().inTransaction(c -> runMetrics(c, runId));
  }

  private static Map<String, Double> runMetrics(Connection c, long runId) throws SQLException {
    Map<String, Double> out = new LinkedHashMap<>();
    Sql.query(
        c,
        """
        select distinct on (key) key, value from metrics where run_id = ?
         order by key, at desc, idx desc""",
        rs -> out.put(rs.getString(1), rs.getDouble(2)),
        runId);
    return out;
  }

  /** Points an alias at a version, audited. */
  public Move promote(String name, int version, String alias, String who, String why) {
    return db.tx().inTransaction(c -> promote(c, name, version, alias, who, why));
  }

  /** {@link #promote(String, int, String, String, String)} inside the caller's transaction. */
  public Move promote(Connection c, String name, int version, String alias, String who, String why)
      throws SQLException {
    Names.alias(alias);
    lockExisting(c, name);
    requireVersion(c, name, version);
    return ModelAliases.move(c, name, alias, version, who, why);
  }

  /** Moves an alias back to the version it held before its current one was set. */
  public Move rollback(String name, String alias, String who, String why) {
    Names.alias(alias);
    return db.tx().inTransaction(c -> ModelAliases.rollback(c, name, alias, who, why));
  }

  private static void lockModel(Connection c, String name) throws SQLException {
    Sql.one(c, "select 1 from models where name = ? for update", rs -> 1, name);
  }

  static void lockExisting(Connection c, String name) throws SQLException {
    if (Sql.one(c, "select 1 from models where name = ? for update", rs -> 1, name).isEmpty()) {
      throw new RegistryException("no model '" + name + "' (see 'kiln models list')");
    }
  }

  private static void requireVersion(Connection c, String name, int version) throws SQLException {
    boolean exists =
        Sql.one(
                c,
                "select 1 from model_versions where name = ? and version = ?",
                rs -> 1,
                name,
                version)
            .isPresent();
    if (!exists) {
      int max =
          Sql.one(
                  c,
                  "select coalesce(max(version), 0) from model_versions where name = ?",
                  rs -> rs.getInt(1),
                  name)
              .orElse(0);
      throw new RegistryException(
          "model '"
              + name
              + "' has no version "
              + version
              + (max == 0 ? " (it has no versions)" : " (versions are 1.." + max + ")"));
    }
  }

  /** The version under an alias now. */
  public Optional<ModelVersion> lookup(String name, String alias) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select "
                        + prefixed("v")
                        + """
         from model_aliases a join model_versions v on v.name = a.name and v.version = a.version
        where a.name = ? and a.alias = ?""",
                    ModelRegistry::map,
                    name,
                    alias));
  }

  /** The version an alias pointed at, at an instant; empty when it was not set yet. */
  public Optional<Integer> versionAt(String name, String alias, Instant at) {
    return db.tx().inTransaction(c -> ModelAliases.versionAt(c, name, alias, at));
  }

  /** Alias moves, oldest first; alias null means every alias of the model. */
  public List<AliasEvent> history(String name, String alias) {
    return db.tx().inTransaction(c -> ModelAliases.history(c, name, alias));
  }

  public Optional<ModelVersion> get(String name, int version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select " + COLS + " from model_versions where name = ? and version = ?",
                    ModelRegistry::map,
                    name,
                    version));
  }

  public List<ModelVersion> versions(String name) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    "select " + COLS + " from model_versions where name = ? order by version",
                    ModelRegistry::map,
                    name));
  }

  public boolean exists(String name) {
    return db.tx()
        .inTransaction(
            c -> Sql.one(c, "select 1 from models where name = ?", rs -> 1, name).isPresent());
  }

  /** Alias -> version, by alias. */
  public Map<String, Integer> aliases(String name) {
    Map<String, Integer> out = new LinkedHashMap<>();
    db.tx()
        .run(
            c ->
                Sql.query(
                    c,
                    "select alias, version from model_aliases where name = ? order by alias",
                    rs -> out.put(rs.getString(1), rs.getInt(2)),
                    name));
    return out;
  }

  /** Every model's name with its number of versions, by name. */
  public List<Map.Entry<String, Integer>> models() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
        select m.name, (select count(*) from model_versions v where v.name = m.name)
          from models m order by m.name""",
                    rs -> Map.entry(rs.getString(1), rs.getInt(2))));
  }

  /** Image digests of a run's steps, by step (steps without one are left out). */
  public Map<String, String> imageDigests(long runId) {
    Map<String, String> out = new LinkedHashMap<>();
    db.tx()
        .run(
            c ->
                Sql.query(
                    c,
                    """
        select step_id, image_digest from tasks where run_id = ? and image_digest is not null
         order by step_id""",
                    rs -> out.put(rs.getString(1), rs.getString(2)),
                    runId));
    return out;
  }

  private static String prefixed(String t) {
    List<String> cols = new ArrayList<>();
    for (String col : COLS.split(",\\s*")) {
      cols.add(t + "." + col.strip());
    }
    return String.join(", ", cols);
  }

  static ModelVersion map(ResultSet rs) throws SQLException {
    Map<String, Double> metrics = new LinkedHashMap<>();
    Json.readMap(rs.getString(11)).forEach((k, v) -> metrics.put(k, ((Number) v).doubleValue()));
    return new ModelVersion(
        rs.getString(1),
        rs.getInt(2),
        rs.getString(3),
        rs.getLong(4),
        rs.getString(5),
        Sql.longOrNull(rs, "run_id"),
        rs.getString(7),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10),
        metrics,
        Json.readMap(rs.getString(12)),
        Json.readStringMap(rs.getString(13)),
        rs.getString(14),
        Sql.instant(rs, "created_at"));
  }
}
