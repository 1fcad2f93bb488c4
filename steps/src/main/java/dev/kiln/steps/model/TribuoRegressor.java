package dev.kiln.steps.model;

import dev.kiln.engine.task.Completion;
import dev.kiln.steps.With;
import dev.kiln.steps.model.TribuoRun.Settings;
import dev.kiln.steps.model.TribuoRun.Trained;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tribuo.Model;
import org.tribuo.Prediction;
import org.tribuo.Trainer;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.evaluation.RegressionEvaluation;
import org.tribuo.regression.evaluation.RegressionEvaluator;
import org.tribuo.regression.rtree.CARTRegressionTrainer;
import org.tribuo.regression.rtree.impurity.MeanSquaredError;
import org.tribuo.regression.sgd.linear.LinearSGDTrainer;
import org.tribuo.regression.sgd.objectives.SquaredLoss;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/**
 * The regressors of {@code train/tribuo}: linear regression (squared loss by SGD, standardised
 * features) and a CART regression tree, predicting a numeric target. Metrics on the held-out rows:
 * {@code rmse}, {@code mae}, {@code r2}.
 */
final class TribuoRegressor {
  private TribuoRegressor() {}

  static Trained train(TribuoData data, Settings s) throws With.BadInput, IOException {
    RegressionFactory factory = new RegressionFactory();
    String target = s.in().string("target");
    List<Double> values = new ArrayList<>(data.targets().size());
    for (int i = 0; i < data.targets().size(); i++) {
      try {
        values.add(Double.parseDouble(data.targets().get(i).trim()));
      } catch (NumberFormatException e) {
        throw new With.BadInput(
            TribuoData.NAME
                + ": algorithm '"
                + s.algorithm().key
                + "' predicts a number, but row "
                + (i + 1)
                + " has "
                + target
                + " = '"
                + data.targets().get(i)
                + "'");
      }
    }
    var split =
        data.split(
            data.examples(i -> new Regressor(target, values.get(i))),
            factory,
            s.testFraction(),
            s.seed());
    Model<Regressor> model = trainer(s).train(split.train(), s.recording());
    RegressionEvaluation eval = new RegressionEvaluator().evaluate(model, split.test());
    List<Completion.Metric> metrics =
        new ArrayList<>(
            List.of(
                new Completion.Metric("rmse", eval.averageRMSE()),
                new Completion.Metric("mae", eval.averageMAE()),
                new Completion.Metric("r2", eval.averageR2()),
                new Completion.Metric("train_rows", split.train().size()),
                new Completion.Metric("test_rows", split.test().size())));
    List<List<String>> rows = new ArrayList<>();
    for (Prediction<Regressor> p : eval.getPredictions()) {
      rows.add(
          List.of(
              String.valueOf(p.getExample().getOutput().getValues()[0]),
              String.valueOf(p.getOutput().getValues()[0]),
              String.valueOf(p.getExample().getMetadataValue("group").orElse(""))));
    }
    var table = s.out().resolve("holdout.csv");
    TribuoRun.writeCsv(table, List.of("label", "prediction", "group"), rows);
    return new Trained(
        model,
        metrics,
        split.train().size(),
        split.test().size(),
        table,
        String.format(
            Locale.ROOT,
            "%s: trained on %d rows, tested on %d: rmse %.4f, mae %.4f, r2 %.4f",
            s.algorithm().key,
            split.train().size(),
            split.test().size(),
            eval.averageRMSE(),
            eval.averageMAE(),
            eval.averageR2()));
  }

  private static Trainer<Regressor> trainer(Settings s) throws With.BadInput {
    return switch (s.algorithm()) {
      case LINEAR_REGRESSION ->
          new TransformTrainer<>(
              new LinearSGDTrainer(
                  new SquaredLoss(),
                  new AdaGrad(s.positiveNumber("learning_rate", 1.0), 0.1),
                  s.atLeast("epochs", 10, 1),
                  s.seed()),
              new TransformationMap(List.of(new MeanStdDevTransformation())));
      case CART_REGRESSION ->
          new CARTRegressionTrainer(
              s.atLeast("max_depth", Integer.MAX_VALUE, 1),
              (float) s.nonNegative("min_child_weight", 5),
              0f,
              (float) s.share("fraction_features", 1, false),
              false,
              new MeanSquaredError(),
              s.seed());
      default -> throw new IllegalArgumentException(s.algorithm() + " is not a regressor");
    };
  }
}
