package dev.kiln.steps.serve;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.store.Sql.Jsonb;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Signatures, images and deployments of served models (migration V80). */
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
}
