package dev.kiln.steps.model;

import dev.kiln.steps.With;
import dev.kiln.steps.table.Table;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Group fairness of a scored hold-out set (label, prediction, sensitive column), by counting:
 * demographic parity difference = max - min over groups of P(prediction = positive | group); equal
 * opportunity difference = max - min over groups of P(prediction = positive | label = positive,
 * group).
 */
final class Fairness {
  private Fairness() {}

  /** What {@code with.fairness} holds. */
  static final String FIELDS =
      "data, sensitive, label, prediction, positive and"
          + " max_demographic_parity / max_equal_opportunity";

  /** Adds what held to notes and returns what did not. */
  static List<String> check(String step, With in, List<String> notes) throws With.BadInput {
    Path data = in.path("data");
    String sensitive = in.string("sensitive");
    String label = in.string("label", "label");
    String prediction = in.string("prediction", "prediction");
    String positive = in.string("positive");
    Double maxDp = in.number("max_demographic_parity");
    Double maxEo = in.number("max_equal_opportunity");
    if (maxDp == null && maxEo == null) {
      throw new With.BadInput(
          step + ": fairness needs max_demographic_parity or max_equal_opportunity");
    }
    List<String> reasons = new ArrayList<>();
    try (Table t = Table.open(data, Table.Format.CSV, false)) {
      List<String> cols = t.columns().stream().map(Table.Column::name).toList();
      for (String col : List.of(sensitive, label, prediction)) {
        if (!cols.contains(col)) {
          throw new With.BadInput(
              step
                  + ": fairness data has no column '"
                  + col
                  + "' (it has: "
                  + String.join(", ", cols)
                  + ")");
        }
      }
      String s = Table.quote(sensitive);
      String y = Table.quote(label);
      String p = Table.quote(prediction);
      String sql =
          "select cast("
              + s
              + " as varchar) as g,"
              + " avg(case when cast("
              + p
              + " as varchar) = ? then 1.0 else 0.0 end) as sel,"
              + " avg(case when cast("
              + p
              + " as varchar) = ? then 1.0 else 0.0 end)"
              + "   filter (where cast("
              + y
              + " as varchar) = ?) as tpr"
              + " from data group by 1 order by 1";
      double selMin = Double.MAX_VALUE;
      double selMax = -Double.MAX_VALUE;
      double tprMin = Double.MAX_VALUE;
      double tprMax = -Double.MAX_VALUE;
      int groups = 0;
      try (PreparedStatement ps = t.connection().prepareStatement(sql)) {
        ps.setString(1, positive);
        ps.setString(2, positive);
        ps.setString(3, positive);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            groups++;
            double sel = rs.getDouble("sel");
            selMin = Math.min(selMin, sel);
            selMax = Math.max(selMax, sel);
            double tpr = rs.getDouble("tpr");
            if (!rs.wasNull()) {
              tprMin = Math.min(tprMin, tpr);
              tprMax = Math.max(tprMax, tpr);
            }
          }
        }
      }
      if (groups < 2) {
        throw new With.BadInput(
            step
                + ": fairness column '"
                + sensitive
                + "' has "
                + groups
                + " group(s); at least 2 are needed");
      }
      double dp = selMax - selMin;
      double eo = tprMax >= tprMin ? tprMax - tprMin : 0;
      judge("demographic parity difference", dp, maxDp, reasons, notes);
      judge("equal opportunity difference", eo, maxEo, reasons, notes);
    } catch (SQLException e) {
      throw new With.BadInput(
          step
              + ": cannot read fairness data '"
              + in.string("data")
              + "': "
              + Table.firstLine(e.getMessage()));
    }
    return reasons;
  }

  private static void judge(
      String what, double value, Double max, List<String> reasons, List<String> notes) {
    if (max == null) {
      return;
    }
    String text = what + " " + ModelGateStep.fmt(value);
    if (value > max) {
      reasons.add(text + " > max " + ModelGateStep.fmt(max));
    } else {
      notes.add(text + " ok");
    }
  }
}
