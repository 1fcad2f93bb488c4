package dev.kiln.steps.monitor;

import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

/**
 * Scores predictions against labels joined on an id (table {@code data} = predictions, table {@code
 * labels}). Rows without a label yet are counted, not scored.
 */
final class PerformanceMetrics {
  /** Metrics where a smaller value is better; for all others larger is better. */
  static final Set<String> LOWER_IS_BETTER = Set.of("mae", "rmse");

  record Scored(Map<String, Double> metrics, long matched, long unlabeled) {}

  private PerformanceMetrics() {}

  static Scored classification(
      Table d, String id, String pred, String label, String score, String positive)
      throws SQLException, DataException {
    String p = "cast(p." + Table.quote(pred) + " as varchar)";
    String l = "cast(l." + Table.quote(label) + " as varchar)";
    String join =
        " from data p join labels l on cast(p."
            + Table.quote(id)
            + " as varchar) = cast(l."
            + Table.quote(id)
            + " as varchar) where l."
            + Table.quote(label)
            + " is not null";
    Map<String, Double> m = new LinkedHashMap<>();
    long matched;
    try (PreparedStatement ps =
        d.connection()
            .prepareStatement(
                "select count(*), "
                    + "count(*) filter (where "
                    + p
                    + " = "
                    + l
                    + "), "
                    + "count(*) filter (where "
                    + p
                    + " = ? and "
                    + l
                    + " = ?), "
                    + "count(*) filter (where "
                    + p
                    + " = ? and "
                    + l
                    + " <> ?), "
                    + "count(*) filter (where "
                    + p
                    + " <> ? and "
                    + l
                    + " = ?)"
                    + join)) {
      for (int i = 1; i <= 6; i++) {
        ps.setString(i, positive);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        matched = rs.getLong(1);
        if (matched == 0) {
          throw new DataException("no prediction has a label yet (joined on '" + id + "')");
        }
        double tp = rs.getLong(3);
        double fp = rs.getLong(4);
        double fn = rs.getLong(5);
        m.put("accuracy", (double) rs.getLong(2) / matched);
        double precision = tp + fp == 0 ? 0 : tp / (tp + fp);
        double recall = tp + fn == 0 ? 0 : tp / (tp + fn);
        m.put("precision", precision);
        m.put("recall", recall);
        m.put("f1", precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall));
      }
    }
    if (score != null) {
      List<double[]> rows = new ArrayList<>();
      try (PreparedStatement ps =
          d.connection()
              .prepareStatement(
                  "select try_cast(p."
                      + Table.quote(score)
                      + " as double), "
                      + l
                      + " = ?"
                      + join)) {
        ps.setString(1, positive);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            double s = rs.getDouble(1);
            if (rs.wasNull()) {
              throw new DataException("column '" + score + "' holds a value that is not a number");
            }
            rows.add(new double[] {s, rs.getBoolean(2) ? 1 : 0});
          }
        }
      }
      m.put("roc_auc", rocAuc(rows));
    }
    return new Scored(m, matched, unlabeled(d, id, label));
  }

  /**
   * ROC AUC as the Mann-Whitney U of the positives' scores over n1*n0, ties taking their average
   * rank (equal to sklearn's roc_auc_score); NaN when only one class has arrived.
   */
  static double rocAuc(List<double[]> rows) {
    double[] scores = rows.stream().mapToDouble(r -> r[0]).toArray();
    double[] ranks = new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE).rank(scores);
    double n1 = 0;
    double rankSum = 0;
    for (int i = 0; i < rows.size(); i++) {
      if (rows.get(i)[1] == 1) {
        n1++;
        rankSum += ranks[i];
      }
    }
    double n0 = rows.size() - n1;
    return n1 == 0 || n0 == 0 ? Double.NaN : (rankSum - n1 * (n1 + 1) / 2) / (n1 * n0);
  }

  static Scored regression(Table d, String id, String pred, String label)
      throws SQLException, DataException {
    String p = "try_cast(p." + Table.quote(pred) + " as double)";
    String l = "try_cast(l." + Table.quote(label) + " as double)";
    String sql =
        "with j as (select "
            + p
            + " as p, "
            + l
            + " as l from data p join labels l on "
            + "cast(p."
            + Table.quote(id)
            + " as varchar) = cast(l."
            + Table.quote(id)
            + " as varchar) where l."
            + Table.quote(label)
            + " is not null) "
            + "select count(*), count(*) filter (where p is null or l is null), avg(abs(p - l)), "
            + "sqrt(avg((p - l) * (p - l))), sum((l - p) * (l - p)), "
            + "sum((l - (select avg(l) from j)) * (l - (select avg(l) from j))) from j";
    Map<String, Double> m = new LinkedHashMap<>();
    long matched;
    try (PreparedStatement ps = d.connection().prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      matched = rs.getLong(1);
      if (matched == 0) {
        throw new DataException("no prediction has a label yet (joined on '" + id + "')");
      }
      if (rs.getLong(2) > 0) {
        throw new DataException(
            rs.getLong(2)
                + " predictions or labels are not numbers (columns '"
                + pred
                + "', '"
                + label
                + "')");
      }
      m.put("mae", rs.getDouble(3));
      m.put("rmse", rs.getDouble(4));
      double ssTot = rs.getDouble(6);
      m.put("r2", ssTot == 0 ? Double.NaN : 1 - rs.getDouble(5) / ssTot);
    }
    return new Scored(m, matched, unlabeled(d, id, label));
  }

  private static long unlabeled(Table d, String id, String label) throws SQLException {
    try (PreparedStatement ps =
            d.connection()
                .prepareStatement(
                    "select count(*) from data p "
                        + "where not exists (select 1 from labels l where cast(l."
                        + Table.quote(id)
                        + " as varchar) = cast(p."
                        + Table.quote(id)
                        + " as varchar) and l."
                        + Table.quote(label)
                        + " is not null)");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
