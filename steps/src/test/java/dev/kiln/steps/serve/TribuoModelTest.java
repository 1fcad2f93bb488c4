package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.clustering.ClusterID;
import org.tribuo.clustering.ClusteringFactory;
import org.tribuo.clustering.kmeans.KMeansTrainer;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.math.distance.L2Distance;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.rtree.CARTRegressionTrainer;

/**
 * The signature a Tribuo model file carries, as train/tribuo records it, and the fallback; the
 * kinds of Tribuo model served.
 */
class TribuoModelTest {
  @TempDir Path dir;

  @Test
  void theSignatureRecordedInTheModelFileIsTheOneServedWithItsTypes() throws Exception {
    List<Signature.Column> cols = new ArrayList<>();
    for (String name : TestModels.rows(1).get(0).keySet()) {
      cols.add(new Signature.Column(name, name.equals("mean_area") ? "integer" : "number"));
    }
    Signature recorded = new Signature(cols);
    Path file = TestModels.train(dir, 5, TribuoModel.recording(recorded));

    TribuoModel model = TribuoModel.load(file);
    assertThat(model.signature()).isEqualTo(recorded);
    Map<String, Object> row = new LinkedHashMap<>(TestModels.rows(1).get(0));
    row.put("mean_area", 1001);
    model.signature().check(List.of(row));
    row.put("mean_area", 1001.5);
    assertThatThrownBy(() -> model.signature().check(List.of(row)))
        .hasMessage("rows[0].mean_area: expected an integer, got number 1001.5");
    assertThat(model.predict(List.of(row)).predictions()).hasSize(1);
  }

  @Test
  void aModelWithoutARecordedSignatureIsDescribedByItsFeatures() throws Exception {
    TribuoModel model = TribuoModel.load(TestModels.train(dir, 6));
    assertThat(model.signature().columns())
        .hasSize(30)
        .allSatisfy(c -> assertThat(c.type()).isEqualTo("number"));
  }

  @Test
  void regressorsAndClusterersAreServedTooANumberOrAClusterPerRow() throws Exception {
    List<Map<String, Object>> rows = TestModels.rows(60);
    String[] names = rows.get(0).keySet().toArray(String[]::new);
    List<Example<Regressor>> numbers = new ArrayList<>();
    List<Example<ClusterID>> points = new ArrayList<>();
    for (Map<String, Object> row : rows) {
      double[] values = new double[names.length];
      for (int k = 0; k < names.length; k++) {
        values[k] = (Double) row.get(names[k]);
      }
      numbers.add(
          new ArrayExample<>(new Regressor("area", (Double) row.get("mean_area")), names, values));
      points.add(new ArrayExample<>(ClusteringFactory.UNASSIGNED_CLUSTER_ID, names, values));
    }
    RegressionFactory rf = new RegressionFactory();
    Path regressor = dir.resolve("regressor.tribuo");
    new CARTRegressionTrainer(4)
        .train(
            new MutableDataset<>(
                new ListDataSource<>(numbers, rf, new SimpleDataSourceProvenance("r", rf))))
        .serializeToFile(regressor);
    ClusteringFactory cf = new ClusteringFactory();
    Path clusterer = dir.resolve("clusterer.tribuo");
    new KMeansTrainer(2, 10, new L2Distance(), KMeansTrainer.Initialisation.PLUSPLUS, 1, 1)
        .train(
            new MutableDataset<>(
                new ListDataSource<>(points, cf, new SimpleDataSourceProvenance("c", cf))))
        .serializeToFile(clusterer);

    ServedModel.Result r = TribuoModel.load(regressor).predict(rows.subList(0, 3));
    assertThat(r.predictions())
        .hasSize(3)
        .allSatisfy(v -> assertThat(v).isInstanceOf(Double.class));
    assertThat((Double) r.predictions().get(0)).isBetween(500.0, 1500.0); // mean_area 1001
    assertThat(r.probabilities()).isNull();
    assertThat(TribuoModel.load(clusterer).predict(rows.subList(0, 3)).predictions())
        .hasSize(3)
        .allSatisfy(v -> assertThat((Integer) v).isBetween(0, 1));
  }
}
