package dev.kiln.steps.features;

import static dev.kiln.steps.features.FeatureTables.ident;
import static dev.kiln.steps.features.FeatureTables.literal;

import dev.kiln.engine.registry.OnlineStore;
import dev.kiln.engine.store.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads the latest row per entity of a view into the online table: rows with event time after the
 * view's watermark (first run: within the ttl before {@code end}, or all history without a ttl) and
 * at or before {@code end}, picked by one DuckDB query and upserted a batch per statement; the
 * watermark moves to {@code end} in the same transaction.
 */
final class Materializer {
  static final int BATCH = 10_000;

  private Materializer() {}

  record Result(String view, long rows, Instant from, Instant to) {}

  static Result run(FeatureStore store, FeatureTables t, Definitions.View v, Instant end)
      throws FeatureException {
    Instant from = store.registry().watermark(v.name()).orElse(null);
    boolean firstRun = from == null;
    if (firstRun && v.ttl() != null) {
      from = end.minus(v.ttl());
    }
    if (from != null && !from.isBefore(end)) {
      return new Result(v.name(), 0, from, end);
    }
    StringBuilder key = new StringBuilder("concat_ws(chr(31)");
    StringBuilder partition = new StringBuilder();
    for (String k : v.joinKeys()) {
      key.append(", cast(").append(ident(k)).append(" as varchar)");
      partition.append(partition.isEmpty() ? "" : ", ").append(ident(k));
    }
    key.append(")");
    StringBuilder q = new StringBuilder("select ");
    q.append(key).append(", epoch_us(__kiln_ts), epoch_us(__kiln_created)");
    for (Definitions.Feature f : v.features()) {
      q.append(", ").append(ident(f.name()));
    }
    q.append(" from (")
        .append(t.normalized(v, false))
        .append(") where __kiln_ts <= ")
        .append(ts(end));
    if (from != null) {
      q.append(" and __kiln_ts ").append(firstRun ? ">= " : "> ").append(ts(from));
    }
    q.append(" qualify row_number() over (partition by ")
        .append(partition)
        .append(" order by __kiln_ts desc, __kiln_created desc nulls last) = 1");
    try (Statement st = t.connection().createStatement();
        ResultSet rs = st.executeQuery(q.toString())) {
      long rows =
          store
              .online()
              .load(
                  v.name(),
                  end,
                  () -> {
                    List<OnlineStore.Row> batch = new ArrayList<>(BATCH);
                    while (batch.size() < BATCH && rs.next()) {
                      batch.add(row(rs, v));
                    }
                    return batch;
                  });
      return new Result(v.name(), rows, from, end);
    } catch (SQLException e) {
      throw new FeatureException(
          "materialize view '" + v.name() + "': " + FeatureTables.firstLine(e.getMessage()), e);
    }
  }

  private static OnlineStore.Row row(ResultSet rs, Definitions.View v) throws SQLException {
    Map<String, Object> values = new LinkedHashMap<>();
    int i = 4;
    for (Definitions.Feature f : v.features()) {
      values.put(f.name(), value(rs, i++, f.type()));
    }
    long created = rs.getLong(3);
    Instant createdTs = rs.wasNull() ? null : micros(created);
    return new OnlineStore.Row(
        rs.getString(1), micros(rs.getLong(2)), createdTs, Json.write(values));
  }

  /** A feature value as JSON takes it: numbers that are not finite become null. */
  static Object value(ResultSet rs, int col, FeatureType type) throws SQLException {
    Object o =
        switch (type) {
          case INT -> rs.getLong(col);
          case FLOAT -> rs.getDouble(col);
          case BOOL -> rs.getBoolean(col);
          case STRING -> rs.getString(col);
        };
    if (rs.wasNull() || (o instanceof Double d && !Double.isFinite(d))) {
      return null;
    }
    return o;
  }

  static Instant micros(long us) {
    return Instant.EPOCH.plus(us, ChronoUnit.MICROS);
  }

  static String ts(Instant t) {
    return "cast(" + literal(t.toString()) + " as timestamptz)";
  }
}
