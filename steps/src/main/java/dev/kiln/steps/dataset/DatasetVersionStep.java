package dev.kiln.steps.dataset;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.table.Table;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code uses: dataset/version}: stores a file or folder once under its sha256 and records a
 * numbered version of the named data set (the same content again is the same version), with its row
 * count and schema when it is a CSV or Parquet table. In a reproduction the run's pinned version is
 * used instead of reading the path.
 */
public final class DatasetVersionStep implements BuiltinStep {
  static final String NAME = "dataset/version";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Records a data file or folder as a version of a named dataset (the same bytes are the same version).",
        List.of(
            WithKey.required("name", Type.STRING, "the dataset name"),
            WithKey.required(
                "path",
                Type.PATH,
                "the file or folder (relative: to the folder the run was started from)")),
        Outputs.of(
            "version",
            "the dataset version number",
            "sha256",
            "the content hash",
            "uri",
            "dataset:NAME@VERSION",
            "path",
            "the stored copy, for later steps to read",
            "rows",
            "rows of a CSV or Parquet file (empty for a folder)"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      String name = in.string("name");
      long runId = ctx.task().runId();
      String stepId = ctx.task().stepId();
      DatasetRegistry registry = ctx.engine().datasets();
      Optional<DatasetVersion> pinned = registry.pinned(runId, name);
      if (pinned.isPresent()) {
        DatasetVersion v = pinned.get();
        registry.recordRead(runId, stepId, v);
        ctx.logs()
            .line(
                "system",
                "dataset "
                    + v.ref()
                    + " pinned by this reproduction; '"
                    + in.string("path", "")
                    + "' was not read");
        return done(ctx, v);
      }
      Path path = in.path("path");
      ArtifactStore.Stored stored;
      try {
        stored = ctx.engine().artifacts().put(path);
      } catch (IOException e) {
        return Completion.failed(
            NAME + ": cannot store '" + in.string("path") + "': " + e.getMessage());
      }
      Long rows = null;
      List<DatasetVersion.Column> schema = List.of();
      Table.Format format = Files.isRegularFile(path) ? Table.Format.of(path) : null;
      if (format != null) {
        try (Table t = Table.open(stored.path(), format, false)) {
          rows = t.count();
          schema =
              t.columns().stream()
                  .map(c -> new DatasetVersion.Column(c.name(), c.duckType()))
                  .toList();
        } catch (SQLException e) {
          return Completion.failed(
              NAME
                  + ": cannot read '"
                  + in.string("path")
                  + "' as "
                  + (format == Table.Format.PARQUET ? "parquet" : "csv")
                  + ": "
                  + Table.firstLine(e.getMessage()));
        }
      }
      DatasetRegistry.Recorded r =
          registry.record(
              new DatasetRegistry.NewVersion(
                  name,
                  stored.sha256(),
                  stored.size(),
                  stored.kind(),
                  rows,
                  schema,
                  path.toString(),
                  runId,
                  stepId));
      ctx.logs()
          .line(
              "system",
              (r.created() ? "new version " : "same content as ")
                  + r.version().ref()
                  + " (sha256 "
                  + stored.sha256().substring(0, 12)
                  + ", "
                  + stored.size()
                  + " bytes"
                  + (rows == null ? "" : ", " + rows + " rows")
                  + ")");
      return done(ctx, r.version());
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.failed(e.getMessage());
    }
  }

  private static Completion done(Context ctx, DatasetVersion v) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put("version", String.valueOf(v.version()));
    out.put("sha256", v.sha256());
    out.put("uri", "dataset:" + v.ref());
    out.put("path", ctx.engine().artifacts().path(v.sha256()).toString());
    out.put("rows", v.rows() == null ? "" : String.valueOf(v.rows()));
    return new Completion(Completion.Outcome.SUCCEEDED, null, null, out, List.of(), List.of());
  }
}
