package dev.kiln.steps.serve;

import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.sgd.linear.LinearSGDTrainer;
import org.tribuo.classification.sgd.objectives.LogMulticlass;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.impl.ArrayExample;
import org.tribuo.math.optimisers.AdaGrad;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/** Real Tribuo models trained on the flagship's data, as train/tribuo makes them. */
final class TestModels {
  static final Path DATA = findData();

  private TestModels() {}

  private static Path findData() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("pipelines/flagship/breast_cancer.csv"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("pipelines/flagship/breast_cancer.csv not found");
    }
    return p.resolve("pipelines/flagship/breast_cancer.csv");
  }

  /** The data's rows as JSON rows (features only), in file order. */
  static List<Map<String, Object>> rows(int n) throws IOException {
    return rows(DATA, n);
  }

  /** The first n rows (-1: all) of a breast-cancer CSV as JSON rows, without the diagnosis. */
  static List<Map<String, Object>> rows(Path csv, int n) throws IOException {
    List<String> lines = Files.readAllLines(csv);
    String[] header = lines.get(0).split(",");
    List<Map<String, Object>> out = new ArrayList<>();
    for (int i = 1; i <= (n < 0 ? lines.size() - 1 : n); i++) {
      String[] v = lines.get(i).split(",");
      Map<String, Object> row = new LinkedHashMap<>();
      for (int k = 0; k < header.length; k++) {
        if (!header[k].equals("diagnosis")) {
          row.put(header[k], Double.parseDouble(v[k]));
        }
      }
      out.add(row);
    }
    return out;
  }

  /** A model file trained with this seed (different seeds, different files). */
  static Path train(Path dir, long seed) throws IOException {
    return train(dir, seed, Map.of());
  }

  /** As above, the trainer given this instance provenance (a recorded signature). */
  static Path train(Path dir, long seed, Map<String, Provenance> recording) throws IOException {
    List<String> lines = Files.readAllLines(DATA);
    String[] header = lines.get(0).split(",");
    LabelFactory factory = new LabelFactory();
    List<Example<Label>> examples = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] v = line.split(",");
      List<String> names = new ArrayList<>();
      double[] values = new double[header.length - 1];
      String label = null;
      int j = 0;
      for (int k = 0; k < header.length; k++) {
        if (header[k].equals("diagnosis")) {
          label = v[k];
        } else {
          names.add(header[k]);
          values[j++] = Double.parseDouble(v[k]);
        }
      }
      examples.add(
          new ArrayExample<>(factory.generateOutput(label), names.toArray(String[]::new), values));
    }
    MutableDataset<Label> data =
        new MutableDataset<>(
            new ListDataSource<>(
                examples, factory, new SimpleDataSourceProvenance("breast_cancer", factory)));
    Model<Label> model =
        new LinearSGDTrainer(new LogMulticlass(), new AdaGrad(1.0, 0.1), 3, seed)
            .train(data, recording);
    Files.createDirectories(dir);
    Path file = dir.resolve("model-" + seed + ".tribuo");
    model.serializeToFile(file);
    return file;
  }
}
