package dev.kiln.steps.model;

import dev.kiln.steps.With;
import dev.kiln.steps.serve.Signature;
import dev.kiln.steps.table.Table;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.tribuo.Example;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.OutputFactory;
import org.tribuo.datasource.ListDataSource;
import org.tribuo.evaluation.TrainTestSplitter;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/**
 * The rows {@code train/tribuo} learns from, read from a CSV through DuckDB: numeric feature
 * columns (every column but the target, or those {@code with.features} names), the target's text
 * and, with {@code group_by}, each row's group ({@code high}/{@code low} against that column's
 * median). The feature columns with their types are the model's input signature.
 */
record TribuoData(
    Path file,
    Signature signature,
    List<double[]> rows,
    List<String> targets,
    List<String> groups) {
  static final String NAME = TrainTribuoStep.NAME;

  /** Train and test sets; test is empty when a model is fitted on every row (k-means). */
  record Split<T extends Output<T>>(MutableDataset<T> train, MutableDataset<T> test) {}

  /**
   * Reads the file; {@code target} and {@code groupBy} may be null; {@code features} empty means
   * every column but the target.
   */
  static TribuoData load(Path data, String target, List<String> features, String groupBy)
      throws With.BadInput {
    try (Table t = Table.open(data, Table.Format.CSV, false);
        Statement st = t.connection().createStatement()) {
      Set<String> cols = new LinkedHashSet<>();
      t.columns().forEach(c -> cols.add(c.name()));
      List<String> named = new ArrayList<>(features);
      if (target != null) {
        named.add(target);
      }
      if (groupBy != null) {
        named.add(groupBy);
      }
      for (String c : named) {
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
      if (features.contains(target)) {
        throw new With.BadInput(NAME + ": with.features: lists the target '" + target + "'");
      }
      Double median = null;
      if (groupBy != null) {
        try (ResultSet rs =
            st.executeQuery("select median(" + Table.quote(groupBy) + ") from data")) {
          rs.next();
          median = rs.getDouble(1);
        }
      }
      try (ResultSet rs = st.executeQuery("select * from data")) {
        ResultSetMetaData md = rs.getMetaData();
        List<Integer> featureCols = new ArrayList<>();
        List<Signature.Column> signature = new ArrayList<>();
        int targetCol = -1;
        int groupCol = -1;
        for (int i = 1; i <= md.getColumnCount(); i++) {
          String name = md.getColumnName(i);
          if (name.equals(groupBy)) {
            groupCol = i;
          }
          if (name.equals(target)) {
            targetCol = i;
            continue;
          }
          if (!features.isEmpty() && !features.contains(name)) {
            continue;
          }
          String type = signatureType(md.getColumnType(i));
          if (type == null) {
            throw new With.BadInput(
                NAME
                    + ": column '"
                    + name
                    + "' is "
                    + md.getColumnTypeName(i)
                    + "; every feature column must be numeric"
                    + (features.isEmpty() ? " (with.features can name the ones to use)" : ""));
          }
          featureCols.add(i);
          signature.add(new Signature.Column(name, type));
        }
        if (featureCols.isEmpty()) {
          throw new With.BadInput(NAME + ": data has no feature column besides the target");
        }
        List<double[]> rows = new ArrayList<>();
        List<String> targets = new ArrayList<>();
        List<String> groups = new ArrayList<>();
        while (rs.next()) {
          double[] values = new double[featureCols.size()];
          for (int k = 0; k < values.length; k++) {
            values[k] = rs.getDouble(featureCols.get(k));
            if (rs.wasNull()) {
              throw new With.BadInput(
                  NAME
                      + ": row "
                      + (rows.size() + 1)
                      + " has no value in column '"
                      + signature.get(k).name()
                      + "'");
            }
          }
          rows.add(values);
          if (targetCol > 0) {
            String label = rs.getString(targetCol);
            if (label == null) {
              throw new With.BadInput(
                  NAME + ": row " + rows.size() + " has no value in target '" + target + "'");
            }
            targets.add(label);
          }
          if (groupCol > 0) {
            groups.add(rs.getDouble(groupCol) >= median ? "high" : "low");
          }
        }
        if (rows.size() < 10) {
          throw new With.BadInput(
              NAME
                  + ": '"
                  + data.getFileName()
                  + "' has "
                  + rows.size()
                  + " rows; at least 10 are needed to train and test");
        }
        return new TribuoData(
            data,
            new Signature(signature),
            rows,
            target == null ? null : targets,
            groupBy == null ? null : groups);
      }
    } catch (SQLException e) {
      throw new With.BadInput(
          NAME + ": cannot read '" + data + "' as CSV: " + Table.firstLine(e.getMessage()));
    }
  }

  /** The examples, each row's output made from its target's text (or the row's index). */
  <T extends Output<T>> List<Example<T>> examples(Function<Integer, T> output) {
    String[] names = signature.names().toArray(String[]::new);
    List<Example<T>> out = new ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
      Map<String, Object> meta = groups == null ? Map.of() : Map.of("group", groups.get(i));
      out.add(new ArrayExample<>(output.apply(i), names, rows.get(i), meta));
    }
    return out;
  }

  /** A seeded split: {@code 1 - testFraction} of the rows to train on, the rest to test. */
  <T extends Output<T>> Split<T> split(
      List<Example<T>> examples, OutputFactory<T> factory, double testFraction, long seed) {
    TrainTestSplitter<T> s =
        new TrainTestSplitter<>(
            new ListDataSource<>(
                examples,
                factory,
                new SimpleDataSourceProvenance(file.getFileName().toString(), factory)),
            1 - testFraction,
            seed);
    return new Split<>(new MutableDataset<>(s.getTrain()), new MutableDataset<>(s.getTest()));
  }

  /** Every row to train on, none to test: for k-means. */
  <T extends Output<T>> MutableDataset<T> all(List<Example<T>> examples, OutputFactory<T> factory) {
    return new MutableDataset<>(
        new ListDataSource<>(
            examples,
            factory,
            new SimpleDataSourceProvenance(file.getFileName().toString(), factory)));
  }

  /** The signature type of a numeric SQL type (integer or number), null for any other. */
  private static String signatureType(int type) {
    return switch (type) {
      case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> "integer";
      case Types.FLOAT, Types.REAL, Types.DOUBLE, Types.DECIMAL, Types.NUMERIC -> "number";
      default -> null;
    };
  }
}
