package dev.kiln.steps.serve;

import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import dev.kiln.engine.store.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.Prediction;
import org.tribuo.VariableInfo;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.clustering.ClusterID;
import org.tribuo.clustering.ClusteringFactory;
import org.tribuo.impl.ArrayExample;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;

/**
 * A Tribuo classifier, regressor or clusterer as {@code train/tribuo} writes it ({@code
 * Model.serializeToFile}). Its signature is the one {@code train/tribuo} recorded in the model's
 * provenance (the CSV's feature columns with their types); a model without one (trained elsewhere)
 * is described by its feature map: every feature it was trained on, each a number.
 */
public final class TribuoModel implements ServedModel {
  static final String FLAVOUR = "tribuo";

  /** The instance-provenance key of the signature, its value {@link Signature#toJson} as JSON. */
  static final String SIGNATURE_KEY = "kiln-signature";

  private static final LabelFactory LABELS = new LabelFactory();

  private final Model<?> model;
  private final Signature signature;
  private final String[] names;

  private TribuoModel(Model<?> model) {
    this.model = model;
    this.signature = signature(model);
    this.names = signature.names().toArray(String[]::new);
  }

  /**
   * What a trainer is given ({@code Trainer.train(dataset, instanceProvenance)}) so that the model
   * file carries its signature.
   */
  public static Map<String, Provenance> recording(Signature signature) {
    return Map.of(
        SIGNATURE_KEY, new StringProvenance(SIGNATURE_KEY, Json.write(signature.toJson())));
  }

  /** The recorded signature, else the feature map's names, each a number. */
  static Signature signature(Model<?> model) {
    if (model.getProvenance().getInstanceProvenance().getMap().get(SIGNATURE_KEY)
        instanceof StringProvenance recorded) {
      return Signature.fromJson(Json.read(recorded.getValue(), List.class));
    }
    List<Signature.Column> cols = new ArrayList<>();
    for (VariableInfo f : model.getFeatureIDMap()) {
      cols.add(new Signature.Column(f.getName(), "number"));
    }
    return new Signature(cols);
  }

  /**
   * Loads a model file: a classifier, a regressor or a clusterer; anything else, or an unreadable
   * file, is an IOException saying so.
   */
  static TribuoModel load(Path file) throws IOException {
    Model<?> m;
    try {
      m = Model.deserializeFromFile(file);
    } catch (IOException | RuntimeException e) {
      throw new IOException("not a Tribuo model file (" + e.getMessage() + ")", e);
    }
    if (!m.validate(Label.class) && !m.validate(Regressor.class) && !m.validate(ClusterID.class)) {
      throw new IOException(
          "a Tribuo model, but not a classifier, regressor or clusterer (only those are served)");
    }
    return new TribuoModel(m);
  }

  @Override
  public String flavour() {
    return FLAVOUR;
  }

  @Override
  public Signature signature() {
    return signature;
  }

  /**
   * Predictions: a classifier's labels (with probabilities when it gives them), a regressor's
   * number (a list of numbers for several dimensions), a clusterer's cluster id.
   */
  @Override
  @SuppressWarnings("unchecked")
  public Result predict(List<Map<String, Object>> rows) {
    if (model.validate(Label.class)) {
      Model<Label> labels = (Model<Label>) model;
      List<Prediction<Label>> out = labels.predict(examples(rows, LABELS.getUnknownOutput()));
      List<Map<String, Double>> probabilities =
          model.generatesProbabilities() ? new ArrayList<>(out.size()) : null;
      if (probabilities != null) {
        for (Prediction<Label> p : out) {
          Map<String, Double> scores = new LinkedHashMap<>();
          p.getOutputScores().forEach((label, l) -> scores.put(label, l.getScore()));
          probabilities.add(scores);
        }
      }
      return new Result(values(out, Label::getLabel), probabilities);
    }
    if (model.validate(Regressor.class)) {
      Model<Regressor> numbers = (Model<Regressor>) model;
      return new Result(
          values(
              numbers.predict(examples(rows, RegressionFactory.UNKNOWN_REGRESSOR)),
              r ->
                  r.size() == 1
                      ? (Object) r.getValues()[0]
                      : Arrays.stream(r.getValues()).boxed().toList()),
          null);
    }
    Model<ClusterID> clusters = (Model<ClusterID>) model;
    return new Result(
        values(
            clusters.predict(examples(rows, ClusteringFactory.UNASSIGNED_CLUSTER_ID)),
            ClusterID::getID),
        null);
  }

  private <T extends Output<T>> List<Example<T>> examples(
      List<Map<String, Object>> rows, T unknown) {
    List<Example<T>> examples = new ArrayList<>(rows.size());
    for (Map<String, Object> row : rows) {
      double[] values = new double[names.length];
      for (int k = 0; k < names.length; k++) {
        values[k] = ((Number) row.get(names[k])).doubleValue();
      }
      examples.add(new ArrayExample<>(unknown, names, values));
    }
    return examples;
  }

  private static <T extends Output<T>> List<Object> values(
      List<Prediction<T>> out, Function<T, Object> value) {
    List<Object> predictions = new ArrayList<>(out.size());
    out.forEach(p -> predictions.add(value.apply(p.getOutput())));
    return predictions;
  }
}
