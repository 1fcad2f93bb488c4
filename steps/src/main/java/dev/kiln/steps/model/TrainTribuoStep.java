package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.table.Table;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LinearSGDTrainer;
import org.tribuo.classification.sgd.objectives.LogMulticlass;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.evaluation.TrainTestSplitter;
import org.tribuo.impl.ArrayExample;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/**
 * {@code uses: train/tribuo}: logistic regression (Tribuo, standardised features) on a CSV with
 * numeric features and a target column, evaluated on a seeded hold-out split. Writes the model
 * ({@code model}) and the scored hold-out set ({@code holdout}: label, prediction, score, group) as
 * artifacts and accuracy, precision, recall, f1 and roc_auc (for the positive label) as metrics.
 * With {@code group_by: COLUMN} each row's group is {@code high}/{@code low} against that column's
 * median, a derived attribute for the fairness check when the data has no sensitive one.
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
    return new BuiltinSpec(
        NAME,
        "Trains a Tribuo logistic-regression classifier on a CSV of numeric features and evaluates it on a held-out split.",
        List.of(
            WithKey.required("data", Type.PATH, "the training CSV"),
            WithKey.required("target", Type.STRING, "the label column"),
            WithKey.required("positive", Type.STRING, "the positive class value"),
            WithKey.optional("seed", Type.INTEGER, "the random seed (default 42)"),
            WithKey.optional("epochs", Type.INTEGER, "training epochs (default 10)"),
            WithKey.optional(
                "test_fraction",
                Type.NUMBER,
                "the held-out share of rows, between 0 and 1 (default 0.25)"),
            WithKey.optional(
                "group_by",
                Type.STRING,
                "a numeric column whose median splits the holdout into two groups, for fairness checks")),
        Outputs.of("train_rows", "rows trained on", "test_rows", "rows tested on"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      Path data = in.path("data");
      String target = in.string("target");
      String positive = in.string("positive");
      long seed = in.integer("seed", 42);
      long epochs = in.integer("epochs", 10);
      double testFraction = in.number("test_fraction") == null ? 0.25 : in.number("test_fraction");
      if (testFraction <= 0 || testFraction >= 1) {
        throw in.bad("test_fraction", "must be between 0 and 1, got " + testFraction);
      }
      String groupBy = in.string("group_by", null);
      LabelFactory factory = new LabelFactory();
      List<Example<Label>> examples = load(data, target, groupBy, factory);
      if (examples.stream().noneMatch(e -> e.getOutput().getLabel().equals(positive))) {
        throw new With.BadInput(NAME + ": no row has " + target + " = '" + positive + "'");
      }
      TrainTestSplitter<Label> split =
          new TrainTestSplitter<>(
              new ListDataSource<>(
                  examples,
                  factory,
                  new SimpleDataSourceProvenance(data.getFileName().toString(), factory)),
              1 - testFraction,
              seed);
      MutableDataset<Label> train = new MutableDataset<>(split.getTrain());
      MutableDataset<Label> test = new MutableDataset<>(split.getTest());
      var trainer =
          new TransformTrainer<>(
              new LinearSGDTrainer(new LogMulticlass(), new AdaGrad(1.0, 0.1), (int) epochs, seed),
              new TransformationMap(List.of(new MeanStdDevTransformation())));
      Model<Label> model = trainer.train(train);
      LabelEvaluation eval = new LabelEvaluator().evaluate(model, test);
      Label pos = new Label(positive);
      List<Completion.Metric> metrics =
          List.of(
              new Completion.Metric("accuracy", eval.accuracy()),
              new Completion.Metric("precision", eval.precision(pos)),
              new Completion.Metric("recall", eval.recall(pos)),
              new Completion.Metric("f1", eval.f1(pos)),
              new Completion.Metric("roc_auc", eval.AUCROC(pos)),
              new Completion.Metric("train_rows", train.size()),
              new Completion.Metric("test_rows", test.size()));
      Path out = ctx.workDir().resolve("train-out");
      Files.createDirectories(out);
      Path modelFile = out.resolve("model.tribuo");
      model.serializeToFile(modelFile);
      Path scored = out.resolve("holdout.csv");
      writeScored(scored, eval.getPredictions(), positive);
      List<Completion.Artifact> artifacts = new ArrayList<>();
      for (Path p : List.of(modelFile, scored)) {
        ArtifactStore.Stored s = ctx.engine().artifacts().put(p);
        artifacts.add(
            new Completion.Artifact(p.getFileName().toString(), s.sha256(), s.size(), s.kind()));
      }
      ctx.logs()
          .line(
              "stdout",
              String.format(
                  Locale.ROOT,
                  "trained on %d rows, tested on %d: accuracy %.4f, f1 %.4f, roc_auc %.4f",
                  train.size(),
                  test.size(),
                  eval.accuracy(),
                  eval.f1(pos),
                  eval.AUCROC(pos)));
      return new Completion(
          Completion.Outcome.SUCCEEDED,
          0,
          null,
          Map.of(
              "train_rows", String.valueOf(train.size()), "test_rows", String.valueOf(test.size())),
          metrics,
          artifacts);
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
  }

  private static List<Example<Label>> load(
      Path data, String target, String groupBy, LabelFactory factory) throws With.BadInput {
    try (Table t = Table.open(data, Table.Format.CSV, false);
        Statement st = t.connection().createStatement()) {
      Set<String> cols = new HashSet<>();
      t.columns().forEach(c -> cols.add(c.name()));
      for (String c : groupBy == null ? List.of(target) : List.of(target, groupBy)) {
        if (!cols.contains(c)) {
          throw new With.BadInput(
              NAME
                  + ": data has no column '"
                  + c
                  + "' (it has: "
                  + String.join(", ", new TreeSet<>(cols))
                  + ")");
        }
      }
      Double median = null;
      if (groupBy != null) {
        try (ResultSet rs =
            st.executeQuery("select median(" + Table.quote(groupBy) + ") from data")) {
          rs.next();
          median = rs.getDouble(1);
        }
      }
      List<Example<Label>> out = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("select * from data")) {
        ResultSetMetaData md = rs.getMetaData();
        List<Integer> featureCols = new ArrayList<>();
        int targetCol = -1;
        int groupCol = -1;
        for (int i = 1; i <= md.getColumnCount(); i++) {
          String name = md.getColumnName(i);
          if (name.equals(target)) {
            targetCol = i;
            continue;
          }
          if (name.equals(groupBy)) {
            groupCol = i;
          }
          if (!numeric(md.getColumnType(i))) {
            throw new With.BadInput(
                NAME
                    + ": column '"
                    + name
                    + "' is "
                    + md.getColumnTypeName(i)
                    + "; every column but the target must be numeric");
          }
          featureCols.add(i);
        }
        String[] names = featureCols.stream().map(i -> columnName(md, i)).toArray(String[]::new);
        while (rs.next()) {
          double[] values = new double[featureCols.size()];
          for (int k = 0; k < values.length; k++) {
            values[k] = rs.getDouble(featureCols.get(k));
          }
          Label label = factory.generateOutput(rs.getString(targetCol));
          Map<String, Object> meta =
              groupCol < 0
                  ? Map.of()
                  : Map.of("group", rs.getDouble(groupCol) >= median ? "high" : "low");
          out.add(new ArrayExample<>(label, names, values, meta));
        }
      }
      if (out.size() < 10) {
        throw new With.BadInput(
            NAME
                + ": '"
                + data.getFileName()
                + "' has "
                + out.size()
                + " rows; at least 10 are needed to train and test");
      }
      return out;
    } catch (SQLException e) {
      throw new With.BadInput(
          NAME + ": cannot read '" + data + "' as CSV: " + Table.firstLine(e.getMessage()));
    }
  }

  private static String columnName(ResultSetMetaData md, int i) {
    try {
      return md.getColumnName(i);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean numeric(int type) {
    return switch (type) {
      case Types.TINYINT,
          Types.SMALLINT,
          Types.INTEGER,
          Types.BIGINT,
          Types.FLOAT,
          Types.REAL,
          Types.DOUBLE,
          Types.DECIMAL,
          Types.NUMERIC ->
          true;
      default -> false;
    };
  }

  private static void writeScored(Path file, List<Prediction<Label>> predictions, String positive)
      throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("label,prediction,score,group\n");
      for (Prediction<Label> p : predictions) {
        Label score = p.getOutputScores().get(positive);
        w.write(
            csv(p.getExample().getOutput().getLabel())
                + ","
                + csv(p.getOutput().getLabel())
                + ","
                + (score == null ? "" : score.getScore())
                + ","
                + csv(String.valueOf(p.getExample().getMetadataValue("group").orElse("")))
                + "\n");
      }
    }
  }

  private static String csv(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }
}
