package dev.kiln.steps.model;

import dev.kiln.engine.task.Completion;
import dev.kiln.steps.With;
import dev.kiln.steps.model.TribuoRun.Settings;
import dev.kiln.steps.model.TribuoRun.Trained;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.tribuo.Dataset;
import org.tribuo.Example;
import org.tribuo.Feature;
import org.tribuo.MutableDataset;
import org.tribuo.Prediction;
import org.tribuo.clustering.ClusterID;
import org.tribuo.clustering.ClusteringFactory;
import org.tribuo.clustering.evaluation.ClusteringEvaluation;
import org.tribuo.clustering.evaluation.ClusteringEvaluator;
import org.tribuo.clustering.kmeans.KMeansModel;
import org.tribuo.clustering.kmeans.KMeansTrainer;
import org.tribuo.math.distance.L2Distance;
import org.tribuo.transform.TransformTrainer;
import org.tribuo.transform.TransformationMap;
import org.tribuo.transform.TransformedModel;
import org.tribuo.transform.transformations.MeanStdDevTransformation;

/**
 * k-means of {@code train/tribuo} (k-means++ start, standardised features), fitted on every row.
 * Metrics: {@code inertia} (the within-cluster sum of squared distances, in standardised units),
 * {@code size_N} per cluster and, with a {@code target}, how well the clusters agree with it:
 * Tribuo's normalised and adjusted mutual information ({@code nmi}, {@code ami}).
 */
final class TribuoClusterer {
  private TribuoClusterer() {}

  static Trained train(TribuoData data, Settings s) throws With.BadInput, IOException {
    ClusteringFactory factory = new ClusteringFactory();
    int k = s.atLeast("clusters", 3, 2);
    if (k > data.rows().size()) {
      throw s.in().bad("clusters", k + " clusters but only " + data.rows().size() + " rows");
    }
    // With a target, its classes (in sorted order) are the true clusters the evaluator compares to.
    Map<String, Integer> truth = new HashMap<>();
    if (data.targets() != null) {
      for (String t : new TreeSet<>(data.targets())) {
        truth.put(t, truth.size());
      }
    }
    List<Example<ClusterID>> examples =
        data.examples(
            i ->
                data.targets() == null
                    ? ClusteringFactory.UNASSIGNED_CLUSTER_ID
                    : new ClusterID(truth.get(data.targets().get(i))));
    MutableDataset<ClusterID> all = data.all(examples, factory);
    TransformTrainer<ClusterID> trainer =
        new TransformTrainer<>(
            new KMeansTrainer(
                k,
                s.atLeast("iterations", 100, 1),
                new L2Distance(),
                KMeansTrainer.Initialisation.PLUSPLUS,
                1,
                s.seed()),
            new TransformationMap(List.of(new MeanStdDevTransformation())));
    TransformedModel<ClusterID> model = trainer.train(all, s.recording());
    List<Prediction<ClusterID>> predictions = model.predict(all);
    double inertia = inertia(model, all);
    List<Completion.Metric> metrics = new ArrayList<>();
    metrics.add(new Completion.Metric("inertia", inertia));
    int[] sizes = new int[k];
    predictions.forEach(p -> sizes[p.getOutput().getID()]++);
    for (int c = 0; c < k; c++) {
      metrics.add(new Completion.Metric("size_" + c, sizes[c]));
    }
    String agreement = "";
    if (data.targets() != null) {
      ClusteringEvaluation eval = new ClusteringEvaluator().evaluate(model, all);
      metrics.add(new Completion.Metric("nmi", eval.normalizedMI()));
      metrics.add(new Completion.Metric("ami", eval.adjustedMI()));
      agreement =
          String.format(
              Locale.ROOT, ", nmi %.4f, ami %.4f", eval.normalizedMI(), eval.adjustedMI());
    }
    metrics.add(new Completion.Metric("train_rows", all.size()));
    metrics.add(new Completion.Metric("test_rows", 0));
    List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i < predictions.size(); i++) {
      rows.add(
          List.of(
              String.valueOf(i + 1),
              String.valueOf(predictions.get(i).getOutput().getID()),
              data.targets() == null ? "" : data.targets().get(i),
              data.groups() == null ? "" : data.groups().get(i)));
    }
    var table = s.out().resolve("clusters.csv");
    TribuoRun.writeCsv(table, List.of("row", "cluster", "label", "group"), rows);
    return new Trained(
        model,
        metrics,
        all.size(),
        0,
        table,
        String.format(
                Locale.ROOT, "kmeans: %d clusters of %d rows: inertia %.4f", k, all.size(), inertia)
            + agreement);
  }

  /** The sum over rows of the squared distance to their cluster's centroid, standardised. */
  private static double inertia(TransformedModel<ClusterID> model, Dataset<ClusterID> data) {
    KMeansModel km = (KMeansModel) model.getInnerModel();
    List<List<Feature>> centroids = km.getCentroids();
    Dataset<ClusterID> scaled = model.getTransformerMap().transformDataset(data);
    double sum = 0;
    for (Example<ClusterID> e : scaled) {
      Map<String, Double> x = new HashMap<>();
      e.forEach(f -> x.put(f.getName(), f.getValue()));
      for (Feature c : centroids.get(km.predict(e).getOutput().getID())) {
        double d = x.getOrDefault(c.getName(), 0.0) - c.getValue();
        sum += d * d;
      }
    }
    return sum;
  }
}
