package dev.kiln.steps.features;

import static dev.kiln.steps.features.FeatureTables.ident;

import dev.kiln.engine.registry.OnlineStore;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Training-serving skew, measured: for a sample of entities, the online values against the offline
 * point-in-time values at the moment the online table was last materialized to (the earliest
 * watermark of the service's views). Skew is the share of values that differ.
 */
final class SkewCheck {
  private SkewCheck() {}

  record Result(Instant at, int entities, int values, int mismatches, List<String> examples) {
    double skew() {
      return values == 0 ? 0 : (double) mismatches / values;
    }
  }

  static Result run(FeatureStore store, FeatureTables t, String serviceName, int sample)
      throws FeatureException {
    FeatureStore.Service s = store.service(serviceName);
    List<String> keys = s.views().get(0).joinKeys();
    Instant at = null;
    for (Definitions.View v : s.views()) {
      if (!new HashSet<>(v.joinKeys()).equals(new HashSet<>(keys))) {
        throw new FeatureException(
            "features/skew: the views of service '" + serviceName + "' have different join keys");
      }
      Instant w =
          store
              .registry()
              .watermark(v.name())
              .orElseThrow(
                  () -> new FeatureException("view '" + v.name() + "' was never materialized"));
      at = at == null || w.isBefore(at) ? w : at;
    }
    StringBuilder cols = new StringBuilder();
    for (String k : keys) {
      cols.append(cols.isEmpty() ? "" : ", ").append(ident(k));
    }
    String entities =
        "select "
            + cols
            + ", "
            + Materializer.ts(at)
            + " as event_timestamp from (select distinct "
            + cols
            + " from ("
            + t.normalized(s.views().get(0))
            + ") using sample reservoir("
            + sample
            + " rows) repeatable (42))";
    List<Map<String, String>> entityKeys = new ArrayList<>();
    List<List<Object>> offline = new ArrayList<>();
    try (Statement st = t.connection().createStatement()) {
      st.execute("create or replace temp table __kiln_skew as " + entities);
      String q =
          TrainingSet.query(
              t,
              new FeatureTables.Table("__kiln_skew", "the sample"),
              "event_timestamp",
              s.views(),
              s.refs());
      try (ResultSet rs = st.executeQuery(q)) {
        while (rs.next()) {
          Map<String, String> k = new LinkedHashMap<>();
          for (String key : keys) {
            k.put(key, rs.getString(key));
          }
          entityKeys.add(k);
          List<Object> row = new ArrayList<>();
          for (Definitions.Ref r : s.refs()) {
            row.add(rs.getObject(r.column()));
          }
          offline.add(row);
        }
      }
    } catch (SQLException e) {
      throw new FeatureException("features/skew: " + FeatureTables.firstLine(e.getMessage()), e);
    }
    if (entityKeys.isEmpty()) {
      return new Result(at, 0, 0, 0, List.of());
    }
    Map<String, List<String>> lookupKeys = new LinkedHashMap<>();
    for (String key : keys) {
      lookupKeys.put(key, entityKeys.stream().map(m -> m.get(key)).toList());
    }
    OnlineStore.Lookup online = store.online().lookup(serviceName, lookupKeys, at);
    int values = 0;
    int mismatches = 0;
    List<String> examples = new ArrayList<>();
    for (int i = 0; i < entityKeys.size(); i++) {
      for (int j = 0; j < s.refs().size(); j++) {
        String column = s.refs().get(j).column();
        Object on = online.features().get(column);
        if (entityKeys.size() > 1) {
          on = ((List<?>) on).get(i);
        }
        Object off = offline.get(i).get(j);
        values++;
        if (!same(off, on)) {
          mismatches++;
          if (examples.size() < 5) {
            examples.add(entityKeys.get(i) + " " + column + ": offline " + off + ", online " + on);
          }
        }
      }
    }
    return new Result(at, entityKeys.size(), values, mismatches, examples);
  }

  static boolean same(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      double p = x.doubleValue();
      double q = y.doubleValue();
      return p == q || Math.abs(p - q) <= 1e-9 * Math.max(Math.abs(p), Math.abs(q));
    }
    return Objects.equals(a, b);
  }
}
