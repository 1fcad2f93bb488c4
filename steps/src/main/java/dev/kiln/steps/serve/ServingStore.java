package dev.kiln.steps.serve;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.sql.PreparedStatement;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Signatures, images, deployments and live traffic of served models (migrations V80, V105). */
final class ServingStore {
  private final Database db;

  ServingStore(Database db) {
    this.db = db;
  }

  record Recorded(String flavour, Signature signature) {}

  Optional<Recorded> signature(String name, int version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.one(
                    c,
                    "select flavour, columns::text from model_signatures where name = ? and version = ?",
                    rs ->
                        new Recorded(
                            rs.getString(1),
                            Signature.fromJson(Json.read(rs.getString(2), List.class))),
                    name,
                    version));
  }

  /** Records a version's signature once; a second call keeps the first (it cannot change). */
  void recordSignature(String name, int version, String flavour, Signature signature) {
    db.tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
            insert into model_signatures (name, version, columns, flavour) values (?, ?, ?, ?)
            on conflict (name, version) do nothing""",
                    name,
                    version,
                    Jsonb.of(signature.toJson()),
                    flavour));
  }

  void recordImage(String name, int version, String image, String imageId) {
    db.tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
            insert into model_images (name, version, image, image_id) values (?, ?, ?, ?)
            on conflict (name, version, image_id) do update set image = excluded.image""",
                    name,
                    version,
                    image,
                    imageId));
  }

  /** The image digests recorded for a version, newest first. */
  List<String> imageIds(String name, int version) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
            select image_id from model_images where name = ? and version = ?
             order by created_at desc""",
                    rs -> rs.getString(1),
                    name,
                    version));
  }

  record DeploymentRow(
      String name,
      String alias,
      String url,
      String status,
      Integer version,
      String imageId,
      String containerId,
      Integer failedVersion,
      String error,
      String owner,
      Instant updatedAt) {}

  void saveDeployment(DeploymentRow d) {
    db.tx()
        .run(
            c ->
                Sql.update(
                    c,
                    """
            insert into model_deployments (name, alias, url, status, version, image_id,
                container_id, failed_version, error, owner)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            on conflict (name, alias) do update set url = excluded.url,
                status = excluded.status, version = excluded.version,
                image_id = excluded.image_id, container_id = excluded.container_id,
                failed_version = excluded.failed_version, error = excluded.error,
                owner = excluded.owner, updated_at = now()""",
                    d.name(),
                    d.alias(),
                    d.url(),
                    d.status(),
                    d.version(),
                    d.imageId(),
                    d.containerId(),
                    d.failedVersion(),
                    d.error(),
                    d.owner()));
  }

  Optional<DeploymentRow> deployment(String name, String alias) {
    return deployments().stream()
        .filter(d -> d.name().equals(name) && d.alias().equals(alias))
        .findFirst();
  }

  List<DeploymentRow> deployments() {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
            select name, alias, url, status, version, image_id, container_id, failed_version,
                   error, owner, updated_at
              from model_deployments order by name, alias""",
                    rs ->
                        new DeploymentRow(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getString(4),
                            Sql.intOrNull(rs, "version"),
                            rs.getString(6),
                            rs.getString(7),
                            Sql.intOrNull(rs, "failed_version"),
                            rs.getString(9),
                            rs.getString(10),
                            Sql.instant(rs, "updated_at"))));
  }

  /** One predicted row of live traffic. */
  record Logged(
      String name,
      String alias,
      int version,
      String requestId,
      int row,
      int rowsInRequest,
      Map<String, Object> inputs,
      Object prediction,
      Map<String, Double> probabilities,
      Instant receivedAt) {}

  /** Writes a batch of logged rows in one transaction (one round trip per batch). */
  void logPredictions(List<Logged> rows) {
    if (rows.isEmpty()) {
      return;
    }
    db.tx()
        .run(
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      """
                  insert into prediction_log (name, alias, version, request_id, row_index,
                      rows_in_request, inputs, prediction, probabilities, received_at)
                  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                for (Logged r : rows) {
                  Sql.bind(
                      ps,
                      r.name(),
                      r.alias(),
                      r.version(),
                      r.requestId(),
                      r.row(),
                      r.rowsInRequest(),
                      Jsonb.of(r.inputs()),
                      r.prediction() == null ? null : Jsonb.of(r.prediction()),
                      r.probabilities() == null ? null : Jsonb.of(r.probabilities()),
                      r.receivedAt());
                  ps.addBatch();
                }
                ps.executeBatch();
              }
            });
  }

  /**
   * The live rows of name@alias received at or after since, oldest first, at most limit. The id of
   * a row is its request id, followed by {@code :ROW} when the request had several rows.
   */
  List<Logged> live(String name, String alias, Instant since, int limit) {
    return db.tx()
        .inTransaction(
            c ->
                Sql.query(
                    c,
                    """
            select name, alias, version, request_id, row_index, rows_in_request, inputs::text,
                   prediction::text, probabilities::text, received_at
              from prediction_log where name = ? and alias = ? and received_at >= ?
             order by received_at, id limit ?""",
                    rs ->
                        new Logged(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getInt(3),
                            rs.getString(4),
                            rs.getInt(5),
                            rs.getInt(6),
                            Json.readMap(rs.getString(7)),
                            rs.getString(8) == null
                                ? null
                                : Json.read(rs.getString(8), Object.class),
                            rs.getString(9) == null ? null : doubles(Json.readMap(rs.getString(9))),
                            Sql.instant(rs, "received_at")),
                    name,
                    alias,
                    since,
                    limit));
  }

  private static Map<String, Double> doubles(Map<String, Object> m) {
    Map<String, Double> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v instanceof Number n ? n.doubleValue() : null));
    return out;
  }
}
