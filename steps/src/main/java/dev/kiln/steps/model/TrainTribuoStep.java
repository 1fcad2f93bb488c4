package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.serve.TribuoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code uses: train/tribuo}: trains a Tribuo model on a CSV of numeric features ({@code
 * with.algorithm}: logistic regression by default, CART, random forest, XGBoost, linear or tree
 * regression, k-means; see {@link TribuoAlgorithm}), evaluates it on a seeded hold-out split and
 * writes the model ({@code model}, its input signature recorded inside: the feature columns and
 * their types, read by serving) and the scored hold-out rows ({@code holdout}: label, prediction,
 * score, group; k-means writes {@code clusters} instead) as artifacts, and the task's metrics
 * ({@link TribuoClassifier}, {@link TribuoRegressor}, {@link TribuoClusterer}). With {@code
 * group_by: COLUMN} each row's group is {@code high}/{@code low} against that column's median, a
 * derived attribute for the fairness check when the data has no sensitive one.
 */
public final class TrainTribuoStep implements BuiltinStep {
  static final String NAME = "train/tribuo";
  // Tribuo logs every 1000 SGD iterations at INFO through java.util.logging, which would land on
  // the worker's stderr; the step reports its own summary. Held here so the setting is not
  // collected with the logger.
  private static final Logger TRIBUO_LOG = quiet();

  private static Logger quiet() {
    Logger l = Logger.getLogger("org.tribuo");
    l.setLevel(Level.WARNING);
    return l;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public BuiltinSpec spec() {
    List<WithKey> with =
        new ArrayList<>(
            List.of(
                WithKey.required("data", Type.PATH, "the training CSV"),
                WithKey.optional(
                    "algorithm",
                    Type.STRING,
                    "one of "
                        + TribuoAlgorithm.names()
                        + " (default logistic); each takes the hyper-parameters named below"),
                WithKey.optional(
                    "target",
                    Type.STRING,
                    "the column to predict (a class, or a number for the regressions); required"
                        + " but for kmeans, where it is only compared with the clusters"),
                WithKey.optional(
                    "positive",
                    Type.STRING,
                    "classifiers: the positive class, reported as precision, recall, f1, roc_auc"),
                WithKey.optional(
                    "features",
                    Type.LIST,
                    "the numeric feature columns (default: every column but the target)"),
                WithKey.optional("seed", Type.INTEGER, "the random seed (default 42)"),
                WithKey.optional(
                    "test_fraction",
                    Type.NUMBER,
                    "the held-out share of rows, between 0 and 1 (default 0.25; kmeans fits every"
                        + " row)"),
                WithKey.optional(
                    "group_by",
                    Type.STRING,
                    "a numeric column whose median splits the holdout into two groups, for"
                        + " fairness checks")));
    with.addAll(TribuoAlgorithm.HYPER_PARAMETERS);
    return new BuiltinSpec(
        NAME,
        "Trains a Tribuo model (logistic regression, CART, random forest, XGBoost, linear or tree"
            + " regression, k-means) on a CSV of numeric features and evaluates it on a held-out"
            + " split; the model file records its input signature.",
        with,
        Outputs.of("train_rows", "rows trained on", "test_rows", "rows tested on (0 for kmeans)"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      TribuoAlgorithm algorithm = TribuoAlgorithm.of(in);
      algorithm.check(ctx.with() == null ? Map.of() : ctx.with());
      Path data = in.path("data");
      String target =
          algorithm.task == TribuoAlgorithm.Task.CLUSTER
              ? in.string("target", null)
              : in.string("target");
      String positive = in.string("positive", null);
      if (positive != null && algorithm.task != TribuoAlgorithm.Task.CLASSIFY) {
        throw in.bad(
            "positive", "only classifiers have a positive class, not '" + algorithm.key + "'");
      }
      if (algorithm.task == TribuoAlgorithm.Task.CLUSTER && in.has("test_fraction")) {
        throw in.bad("test_fraction", "kmeans fits every row; there is no hold-out split");
      }
      long seed = in.integer("seed", 42);
      double testFraction = in.number("test_fraction", 0.25);
      if (testFraction <= 0 || testFraction >= 1) {
        throw in.bad("test_fraction", "must be between 0 and 1, got " + testFraction);
      }
      String groupBy = in.string("group_by", null);
      TribuoData rows = TribuoData.load(data, target, in.list("features"), groupBy);
      Path out = ctx.workDir().resolve("train-out");
      Files.createDirectories(out);
      TribuoRun.Settings settings =
          new TribuoRun.Settings(
              algorithm,
              in,
              seed,
              testFraction,
              positive,
              TribuoModel.recording(rows.signature()),
              out);
      TribuoRun.Trained trained =
          switch (algorithm.task) {
            case CLASSIFY -> TribuoClassifier.train(rows, settings);
            case REGRESS -> TribuoRegressor.train(rows, settings);
            case CLUSTER -> TribuoClusterer.train(rows, settings);
          };
      Path modelFile = out.resolve("model.tribuo");
      trained.model().serializeToFile(modelFile);
      List<Completion.Artifact> artifacts = new ArrayList<>();
      for (Path p : List.of(modelFile, trained.table())) {
        ArtifactStore.Stored s = ctx.engine().artifacts().put(p);
        artifacts.add(
            new Completion.Artifact(p.getFileName().toString(), s.sha256(), s.size(), s.kind()));
      }
      ctx.logs().line("stdout", trained.summary());
      return new Completion(
          Completion.Outcome.SUCCEEDED,
          0,
          null,
          Map.of(
              "train_rows",
              String.valueOf(trained.trainRows()),
              "test_rows",
              String.valueOf(trained.testRows())),
          trained.metrics(),
          artifacts);
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
  }
}
