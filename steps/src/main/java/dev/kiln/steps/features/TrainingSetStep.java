package dev.kiln.steps.features;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.StepPaths;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code uses: features/training-set}: the point-in-time training set of a feature service for an
 * entity file or dataset, written as Parquet and recorded as a dataset version made by this run, so
 * the model trained on it has the exact rows in its lineage; the feature service version is an
 * output.
 */
public final class TrainingSetStep implements BuiltinStep {
  static final String NAME = "features/training-set";

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Joins an entity file with a feature service's views, point-in-time correct, and records"
            + " the result as a dataset version.",
        List.of(
            WithKey.required("service", Type.STRING, "the feature service (NAME or NAME@VERSION)"),
            WithKey.required(
                "entities",
                Type.PATH,
                "the entity file: join keys, an event timestamp and any label columns"),
            WithKey.optional(
                "name", Type.STRING, "the dataset name of the result (default SERVICE-training)"),
            WithKey.optional(
                "timestamp",
                Type.STRING,
                "the entity file's timestamp column (default event_timestamp)"),
            WithKey.optional("format", Type.STRING, "parquet (default) or csv"),
            WithKey.optional("fill", Type.NUMBER, "the value for features no row matched"),
            WithKey.optional("exclude", Type.LIST, "columns of the entity file left out")),
        Outputs.of(
            "path", "the training set file",
            "rows", "its row count",
            "version", "its dataset version",
            "uri", "its dataset URI",
            "feature_service", "the feature service version used"));
  }

  @Override
  public String name() {
    return NAME;
  }

  /** A file or glob of entity rows through the step's path rules; a dataset as it is. */
  private static String confined(Context ctx, String entities) throws StepPaths.Refused {
    return entities == null || entities.startsWith("dataset:")
        ? entities
        : ctx.paths().glob(entities);
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    try {
      String service = FeatureSteps.string(NAME, ctx.with(), "service", null);
      String entities = FeatureSteps.string(NAME, ctx.with(), "entities", null);
      String name = FeatureSteps.string(NAME, ctx.with(), "name", service + "-training");
      String timestamp =
          FeatureSteps.string(NAME, ctx.with(), "timestamp", TrainingSet.DEFAULT_TIMESTAMP);
      String format = FeatureSteps.string(NAME, ctx.with(), "format", "parquet");
      if (!format.equals("parquet") && !format.equals("csv")) {
        throw new FeatureException(
            NAME + ": with.format: must be parquet or csv, got '" + format + "'");
      }
      Double fill =
          ctx.with() != null && ctx.with().get("fill") != null
              ? FeatureSteps.number(NAME, ctx.with(), "fill", 0)
              : null;
      FeatureStore store = new FeatureStore(ctx.engine());
      FeatureStore.Service s = store.service(service);
      Path out = ctx.workDir().resolve("training-set." + format);
      TrainingSet.Written w;
      List<DatasetVersion.Column> schema = new ArrayList<>();
      List<DatasetVersion> read;
      try (FeatureTables t = FeatureTables.open(ctx.engine())) {
        w =
            TrainingSet.write(
                t,
                t.table(confined(ctx, entities), ctx.baseDir(), null),
                timestamp,
                s.views(),
                s.refs(),
                out,
                FeatureSteps.list(ctx.with(), "exclude"),
                fill);
        try (Statement st = t.connection().createStatement();
            ResultSet rs =
                st.executeQuery(
                    "describe select * from " + FeatureTables.literal(out.toString()))) {
          while (rs.next()) {
            schema.add(new DatasetVersion.Column(rs.getString(1), rs.getString(2)));
          }
        }
        read = t.datasetsRead();
      }
      // The entity rows and sources given as datasets are in the run's lineage, like a read by
      // dataset/version.
      for (DatasetVersion v : read) {
        ctx.engine().datasets().recordRead(ctx.task().runId(), ctx.task().stepId(), v);
      }
      ArtifactStore.Stored stored = ctx.engine().artifacts().put(out);
      DatasetRegistry.Recorded r =
          ctx.engine()
              .datasets()
              .record(
                  new DatasetRegistry.NewVersion(
                      name,
                      stored.sha256(),
                      stored.size(),
                      stored.kind(),
                      w.rows(),
                      schema,
                      out.toString(),
                      ctx.task().runId(),
                      ctx.task().stepId()));
      FeatureSteps.log(
          ctx,
          "training set "
              + r.version().ref()
              + ": "
              + w.rows()
              + " rows, feature service "
              + s.ref());
      Map<String, String> outputs = new LinkedHashMap<>();
      outputs.put("path", ctx.engine().artifacts().path(stored.sha256()).toString());
      outputs.put("rows", String.valueOf(w.rows()));
      outputs.put("version", String.valueOf(r.version().version()));
      outputs.put("uri", "dataset:" + r.version().ref());
      outputs.put("sha256", stored.sha256());
      outputs.put("feature_service", s.ref());
      return FeatureSteps.succeeded(outputs, List.of());
    } catch (StepPaths.Refused e) {
      return Completion.invalid(NAME + ": with.entities: " + e.getMessage());
    } catch (FeatureException | RegistryException e) {
      return Completion.failed(e.getMessage().replace('\n', ' '));
    } catch (IOException | SQLException e) {
      return Completion.failed(NAME + ": " + FeatureTables.firstLine(e.getMessage()));
    }
  }
}
