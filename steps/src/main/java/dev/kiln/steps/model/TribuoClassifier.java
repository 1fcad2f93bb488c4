package dev.kiln.steps.model;

import dev.kiln.engine.task.Completion;
import dev.kiln.steps.With;
import dev.kiln.steps.model.TribuoRun.Settings;
import dev.kiln.steps.model.TribuoRun.Trained;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import ml.dmlc.xgboost4j.java.XGBoostError;
import org.tribuo.Dataset;
import org.tribuo.Model;
import org.tribuo.Prediction;
import org.tribuo.Trainer;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.dtree.CARTClassificationTrainer;
import org.tribuo.classification.dtree.impurity.GiniIndex;
import org.tribuo.classification.ensemble.VotingCombiner;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LinearSGDTrainer;
import org.tribuo.classification.sgd.objectives.LogMulticlass;
import org.tribuo.classification.xgboost.XGBoostClassificationTrainer;
import org.tribuo.common.tree.RandomForestTrainer;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/**
 * The classifiers of {@code train/tribuo}: logistic regression (standardised features), CART, a
 * random forest of CART trees, XGBoost. Metrics: accuracy; per class {@code precision_C}, {@code
 * recall_C}, {@code f1_C}; their macro and support-weighted averages; with {@code positive}, that
 * class's {@code precision}, {@code recall}, {@code f1} and {@code roc_auc} under those plain
 * names.
 */
final class TribuoClassifier {
  private TribuoClassifier() {}

  static Trained train(TribuoData data, Settings s) throws With.BadInput, IOException {
    LabelFactory factory = new LabelFactory();
    if (s.positive() != null && !data.targets().contains(s.positive())) {
      throw new With.BadInput(
          TribuoData.NAME
              + ": no row has the target = '"
              + s.positive()
              + "' (with.positive; the classes are "
              + String.join(", ", new TreeSet<>(data.targets()))
              + ")");
    }
    var split =
        data.split(
            data.examples(i -> factory.generateOutput(data.targets().get(i))),
            factory,
            s.testFraction(),
            s.seed());
    Model<Label> model = train(trainer(s), split.train(), s);
    LabelEvaluation eval = new LabelEvaluator().evaluate(model, split.test());
    List<Completion.Metric> metrics = metrics(eval, s.positive(), model.generatesProbabilities());
    metrics.add(new Completion.Metric("train_rows", split.train().size()));
    metrics.add(new Completion.Metric("test_rows", split.test().size()));
    List<List<String>> rows = new ArrayList<>();
    for (Prediction<Label> p : eval.getPredictions()) {
      // The score of the positive class, else of the predicted one.
      Label score =
          p.getOutputScores().get(s.positive() != null ? s.positive() : p.getOutput().getLabel());
      rows.add(
          List.of(
              p.getExample().getOutput().getLabel(),
              p.getOutput().getLabel(),
              score == null ? "" : String.valueOf(score.getScore()),
              String.valueOf(p.getExample().getMetadataValue("group").orElse(""))));
    }
    var table = s.out().resolve("holdout.csv");
    TribuoRun.writeCsv(table, List.of("label", "prediction", "score", "group"), rows);
    String summary =
        String.format(
            Locale.ROOT,
            "%s: trained on %d rows, tested on %d: accuracy %.4f, ",
            s.algorithm().key,
            split.train().size(),
            split.test().size(),
            eval.accuracy());
    if (s.positive() != null) {
      Label pos = new Label(s.positive());
      summary +=
          String.format(
              Locale.ROOT,
              "f1 %.4f, roc_auc %.4f",
              eval.f1(pos),
              model.generatesProbabilities() ? eval.AUCROC(pos) : Double.NaN);
    } else {
      summary += String.format(Locale.ROOT, "f1_macro %.4f", eval.macroAveragedF1());
    }
    return new Trained(model, metrics, split.train().size(), split.test().size(), table, summary);
  }

  private static Model<Label> train(Trainer<Label> trainer, Dataset<Label> train, Settings s)
      throws With.BadInput {
    try {
      return trainer.train(train, s.recording());
    } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
      // xgboost4j loads its native library (lib/linux/x86_64 in its jar, needing libgomp) on
      // first use: say so instead of a stack trace.
      throw new With.BadInput(
          TribuoData.NAME
              + ": algorithm 'xgboost': the xgboost4j native library cannot be loaded on this"
              + " machine ("
              + System.getProperty("os.name")
              + "/"
              + System.getProperty("os.arch")
              + "): "
              + e);
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof XGBoostError x) {
        throw new With.BadInput(
            TribuoData.NAME + ": algorithm 'xgboost' failed: " + x.getMessage());
      }
      throw e;
    }
  }

  private static Trainer<Label> trainer(Settings s) throws With.BadInput {
    return switch (s.algorithm()) {
      case LOGISTIC ->
          new TransformTrainer<>(
              new LinearSGDTrainer(
                  new LogMulticlass(),
                  new AdaGrad(s.positiveNumber("learning_rate", 1.0), 0.1),
                  s.atLeast("epochs", 10, 1),
                  s.seed()),
              new TransformationMap(List.of(new MeanStdDevTransformation())));
      case CART -> cart(s, 1.0, false);
      case RANDOM_FOREST ->
          new RandomForestTrainer<>(
              cart(s, 0.5, true), new VotingCombiner(), s.atLeast("trees", 10, 1), s.seed());
      case XGBOOST ->
          new XGBoostClassificationTrainer(
              s.atLeast("trees", 50, 1),
              s.positiveNumber("learning_rate", 0.3),
              0,
              s.atLeast("max_depth", 6, 1),
              s.nonNegative("min_child_weight", 1),
              s.share("subsample", 1, false),
              s.share("fraction_features", 1, false),
              1,
              0,
              Runtime.getRuntime().availableProcessors(),
              true,
              s.seed());
      default -> throw new IllegalArgumentException(s.algorithm() + " is not a classifier");
    };
  }

  private static CARTClassificationTrainer cart(
      Settings s, double fractionFeatures, boolean belowOne) throws With.BadInput {
    return new CARTClassificationTrainer(
        s.atLeast("max_depth", Integer.MAX_VALUE, 1),
        (float) s.nonNegative("min_child_weight", 5),
        0f,
        (float) s.share("fraction_features", fractionFeatures, belowOne),
        false,
        new GiniIndex(),
        s.seed());
  }

  private static List<Completion.Metric> metrics(
      LabelEvaluation eval, String positive, boolean probabilities) {
    List<Completion.Metric> out = new ArrayList<>();
    out.add(new Completion.Metric("accuracy", eval.accuracy()));
    if (positive != null) {
      Label pos = new Label(positive);
      out.add(new Completion.Metric("precision", eval.precision(pos)));
      out.add(new Completion.Metric("recall", eval.recall(pos)));
      out.add(new Completion.Metric("f1", eval.f1(pos)));
      if (probabilities) {
        out.add(new Completion.Metric("roc_auc", eval.AUCROC(pos)));
      }
    }
    double support = 0;
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    for (Label c : eval.getConfusionMatrix().getDomain().getDomain()) {
      String n = TribuoRun.metricName(c.getLabel());
      double w = eval.getConfusionMatrix().support(c);
      out.add(new Completion.Metric("precision_" + n, eval.precision(c)));
      out.add(new Completion.Metric("recall_" + n, eval.recall(c)));
      out.add(new Completion.Metric("f1_" + n, eval.f1(c)));
      support += w;
      precision += w * eval.precision(c);
      recall += w * eval.recall(c);
      f1 += w * eval.f1(c);
    }
    out.add(new Completion.Metric("precision_macro", eval.macroAveragedPrecision()));
    out.add(new Completion.Metric("recall_macro", eval.macroAveragedRecall()));
    out.add(new Completion.Metric("f1_macro", eval.macroAveragedF1()));
    out.add(new Completion.Metric("precision_weighted", precision / support));
    out.add(new Completion.Metric("recall_weighted", recall / support));
    out.add(new Completion.Metric("f1_weighted", f1 / support));
    return out;
  }
}
