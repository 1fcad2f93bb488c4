package dev.kiln.steps.features;

import static dev.kiln.steps.features.FeatureTables.ident;
import static dev.kiln.steps.features.FeatureTables.literal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The point-in-time join, as one DuckDB query: each entity row gets, per view, the feature row with
 * the same keys whose event time is at or before the entity's (ASOF JOIN), dropped when older than
 * the view's ttl (inclusive bound); of feature rows with equal event time the latest created one
 * (the join's order key holds both times). Every entity row is kept, duplicates included, in input
 * order; features are columns {@code VIEW__FEATURE}, null where nothing matched.
 */
final class TrainingSet {
  /** The entity table's event-time column unless told otherwise (Feast's name). */
  static final String DEFAULT_TIMESTAMP = "event_timestamp";

  private static final String ISO_UTC = "%Y-%m-%dT%H:%M:%S.%fZ";

  private static final String MAX_US = "9223372036854775807";
  private static final String MIN_US = "(-9223372036854775807 - 1)";

  private TrainingSet() {}

  /** Event time and created time (microseconds) as one HUGEINT, ordered by both. */
  private static String hugeint(String micros, String created) {
    return "(" + micros + ")::hugeint * (1::hugeint << 64) + (" + created + ")";
  }

  /**
   * A view's order key as one BIGINT: the event time's step number times {@code width} plus the
   * created time's slot (0 for none, then 1, 2... by created time). Event times are counted in the
   * largest unit that divides every one of them (a day, an hour, a minute, a second, a millisecond
   * or a microsecond) from the earliest, {@code first}; created times likewise from theirs. An
   * entity row's key is its time's step (rounded down, clamped to the view's range) with the
   * highest slot, so {@code entity key >= view key} holds exactly when the view row's event time is
   * at or before the entity's, and the largest such key is the latest event time and of equal ones
   * the latest created. Null when the keys would not fit 63 bits (or the view is empty: then any
   * key does).
   */
  record Packed(long first, long last, long unit, long createdFirst, long createdUnit, long width) {
    private static final long[] UNITS = {
      86_400_000_000L, 3_600_000_000L, 60_000_000L, 1_000_000L, 1_000L
    };

    static Packed of(FeatureTables t, String normalized, Definitions.View v)
        throws FeatureException {
      StringBuilder q =
          new StringBuilder(
              "select min(epoch_us(__kiln_ts)), max(epoch_us(__kiln_ts)),"
                  + " min(epoch_us(__kiln_created)), max(epoch_us(__kiln_created))");
      for (String col : List.of("__kiln_ts", "__kiln_created")) {
        for (long u : UNITS) {
          q.append(", bool_and(epoch_us(").append(col).append(") % ").append(u).append(" = 0)");
        }
      }
      q.append(" from (").append(normalized).append(")");
      try (Statement st = t.connection().createStatement();
          ResultSet rs = st.executeQuery(q.toString())) {
        rs.next();
        if (rs.getObject(1) == null) {
          return null;
        }
        long first = rs.getLong(1);
        long last = rs.getLong(2);
        long unit = unit(rs, 5);
        long createdFirst = rs.getLong(3);
        boolean noCreated = rs.getObject(3) == null;
        long createdUnit = noCreated ? 1 : unit(rs, 5 + UNITS.length);
        long steps = Math.addExact(Math.subtractExact(last, first) / unit, 1);
        long width =
            noCreated
                ? 1
                : Math.addExact(Math.subtractExact(rs.getLong(4), createdFirst) / createdUnit, 2);
        Math.multiplyExact(steps, width);
        return new Packed(first, last, unit, createdFirst, createdUnit, width);
      } catch (ArithmeticException e) {
        return null;
      } catch (SQLException e) {
        throw new FeatureException(
            "view '" + v.name() + "': cannot read: " + FeatureTables.firstLine(e.getMessage()), e);
      }
    }

    private static long unit(ResultSet rs, int column) throws SQLException {
      for (int i = 0; i < UNITS.length; i++) {
        if (rs.getBoolean(column + i)) {
          return UNITS[i];
        }
      }
      return 1;
    }

    String viewKey(String micros, String createdMicros) {
      return "(("
          + micros
          + " - "
          + literal(first)
          + ") // "
          + unit
          + ") * "
          + width
          + " + coalesce(("
          + createdMicros
          + " - "
          + literal(createdFirst)
          + ") // "
          + createdUnit
          + " + 1, 0)";
    }

    String entityKey(String micros) {
      return "case when "
          + micros
          + " < "
          + literal(first)
          + " then -1 else ((least("
          + micros
          + ", "
          + literal(last)
          + ") - "
          + literal(first)
          + ") // "
          + unit
          + ") * "
          + width
          + " + "
          + (width - 1)
          + " end";
    }

    /** The matched view row's event time in microseconds, from its key. */
    String time(String key) {
      return "(" + key + " // " + width + ") * " + unit + " + " + literal(first);
    }

    private static String literal(long n) {
      return "cast('" + n + "' as bigint)";
    }
  }

  record Written(long rows, List<String> featureColumns) {}

  /** The query; checks the entity table against the views first. */
  static String query(
      FeatureTables t,
      FeatureTables.Table entities,
      String timestamp,
      List<Definitions.View> views,
      List<Definitions.Ref> refs)
      throws FeatureException {
    Map<String, String> cols = t.columns(entities.sql(), entities.label());
    String where = "entities " + entities.label();
    if (!cols.containsKey(timestamp)) {
      throw new FeatureException(
          where
              + ": no column '"
              + timestamp
              + "' (the entity event timestamp; name another with --timestamp or with.timestamp); columns: "
              + String.join(", ", cols.keySet()));
    }
    FeatureTables.timestampType(cols.get(timestamp), where, timestamp);
    List<String> keys = new ArrayList<>();
    for (Definitions.View v : views) {
      for (String k : v.joinKeys()) {
        if (!cols.containsKey(k)) {
          throw new FeatureException(
              where + ": no column '" + k + "' (a join key of view '" + v.name() + "')");
        }
        if (!keys.contains(k)) {
          keys.add(k);
        }
      }
    }
    for (Definitions.Ref r : refs) {
      if (cols.containsKey(r.column())) {
        throw new FeatureException(
            where + ": has a column '" + r.column() + "' already, the name of feature " + r);
      }
    }
    checkNulls(t, entities, where, keys, timestamp);

    // Views with a created time join on one order key of event time and created time, so the
    // ASOF JOIN itself picks the latest event time and of equal ones the latest created: no window
    // over the feature rows. The key is a BIGINT when the view's times fit one (see Packed), else
    // a HUGEINT (event time << 64, plus created time): 1.3x the CPU of the whole join.
    String entityTime = FeatureTables.utc(timestamp);
    List<String> entityKeys = new ArrayList<>();
    List<String> viewSql = new ArrayList<>();
    List<String> viewKey = new ArrayList<>();
    List<String> viewTime = new ArrayList<>();
    for (Definitions.View v : views) {
      String a = "__kiln_v" + viewSql.size();
      String normalized = t.normalized(v, false);
      checkKeyTypes(t, cols, v, normalized, where);
      if (v.source().created() == null) {
        viewSql.add(normalized);
        viewKey.add(ident(timestamp) + " >= " + a + ".__kiln_ts");
        viewTime.add(a + ".__kiln_ts >= %s");
        continue;
      }
      String e = "__kiln_o" + entityKeys.size();
      viewKey.add(e + " >= " + a + ".__kiln_order");
      Packed p = Packed.of(t, normalized, v);
      if (p == null) {
        entityKeys.add(hugeint("epoch_us(" + entityTime + ")", MAX_US) + " as " + e);
        viewSql.add(
            "select *, "
                + hugeint(
                    "epoch_us(__kiln_ts)", "coalesce(epoch_us(__kiln_created), " + MIN_US + ")")
                + " as __kiln_order from ("
                + normalized
                + ")");
        viewTime.add(a + ".__kiln_ts >= %s");
      } else {
        entityKeys.add(p.entityKey("epoch_us(" + entityTime + ")") + " as " + e);
        viewSql.add(
            "select * exclude (__kiln_ts, __kiln_created), "
                + p.viewKey("epoch_us(__kiln_ts)", "epoch_us(__kiln_created)")
                + " as __kiln_order from ("
                + normalized
                + ")");
        viewTime.add(p.time(a + ".__kiln_order") + " >= epoch_us(%s)");
      }
    }
    StringBuilder q = new StringBuilder("with __kiln_e as (select * replace (");
    q.append(entityTime)
        .append(" as ")
        .append(ident(timestamp))
        .append("), row_number() over () as __kiln_row");
    for (String k : entityKeys) {
      q.append(", ").append(k);
    }
    q.append(" from ").append(entities.sql()).append(")");
    Map<String, Integer> alias = new LinkedHashMap<>();
    for (int i = 0; i < views.size(); i++) {
      alias.put(views.get(i).name(), i);
      q.append(", __kiln_v").append(i).append(" as (").append(viewSql.get(i)).append(")");
    }
    q.append(" select __kiln_e.* exclude (__kiln_row");
    for (int i = 0; i < entityKeys.size(); i++) {
      q.append(", __kiln_o").append(i);
    }
    q.append(")");
    for (Definitions.Ref r : refs) {
      int i = alias.get(r.view());
      Definitions.View v = views.get(i);
      String value = "__kiln_v" + i + "." + ident(r.feature());
      if (v.ttl() != null) {
        // the ttl's lower bound is inclusive
        String bound =
            "__kiln_e." + ident(timestamp) + " - interval (" + v.ttl().toSeconds() + ") second";
        value = "case when " + viewTime.get(i).formatted(bound) + " then " + value + " end";
      }
      q.append(", ").append(value).append(" as ").append(ident(r.column()));
    }
    q.append(" from __kiln_e");
    for (int i = 0; i < views.size(); i++) {
      String a = "__kiln_v" + i;
      q.append(" asof left join ").append(a).append(" on ");
      for (String k : views.get(i).joinKeys()) {
        q.append("__kiln_e.").append(ident(k)).append(" = ").append(a).append(".");
        q.append(ident(k)).append(" and ");
      }
      q.append("__kiln_e.").append(viewKey.get(i));
    }
    q.append(" order by __kiln_e.__kiln_row");
    return q.toString();
  }

  /** Writes the training set to {@code out} (Parquet or CSV by its suffix), all or nothing. */
  static Written write(
      FeatureTables t,
      FeatureTables.Table entities,
      String timestamp,
      List<Definitions.View> views,
      List<Definitions.Ref> refs,
      Path out)
      throws FeatureException {
    return write(t, entities, timestamp, views, refs, out, List.of(), null);
  }

  /**
   * With {@code exclude}, those entity columns are left out; with {@code fill}, numeric features
   * that matched nothing get that number instead of null (for trainers that take numbers only).
   */
  static Written write(
      FeatureTables t,
      FeatureTables.Table entities,
      String timestamp,
      List<Definitions.View> views,
      List<Definitions.Ref> refs,
      Path out,
      List<String> exclude,
      Double fill)
      throws FeatureException {
    String n = out.getFileName().toString().toLowerCase(Locale.ROOT);
    String options;
    if (n.endsWith(".parquet") || n.endsWith(".pq")) {
      options = "(format parquet)";
    } else if (n.endsWith(".csv")) {
      options = "(format csv, header, timestampformat " + literal(ISO_UTC) + ")";
    } else {
      throw new FeatureException(out + ": the output must end in .parquet or .csv");
    }
    String q = query(t, entities, timestamp, views, refs);
    StringBuilder replace = new StringBuilder();
    if (fill != null) {
      for (Definitions.Ref r : refs) {
        FeatureType type =
            views.stream()
                .filter(v -> v.name().equals(r.view()))
                .findFirst()
                .get()
                .feature(r.feature())
                .type();
        if (type == FeatureType.INT || type == FeatureType.FLOAT) {
          replace
              .append(replace.isEmpty() ? "" : ", ")
              .append("coalesce(")
              .append(ident(r.column()))
              .append(", cast(")
              .append(fill)
              .append(" as ")
              .append(type.sqlType)
              .append(")) as ")
              .append(ident(r.column()));
        }
      }
    }
    if (!exclude.isEmpty() || !replace.isEmpty()) {
      StringBuilder cols = new StringBuilder();
      for (String c : exclude) {
        cols.append(cols.isEmpty() ? "" : ", ").append(ident(c));
      }
      q =
          "select *"
              + (cols.isEmpty() ? "" : " exclude (" + cols + ")")
              + (replace.isEmpty() ? "" : " replace (" + replace + ")")
              + " from ("
              + q
              + ")";
    }
    Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp");
    long rows;
    try (Statement st = t.connection().createStatement()) {
      Files.createDirectories(out.toAbsolutePath().getParent());
      rows = st.executeUpdate("copy (" + q + ") to " + literal(tmp.toString()) + " " + options);
      Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (SQLException e) {
      deleteQuietly(tmp);
      throw new FeatureException(
          "training set from " + entities.label() + ": " + FeatureTables.firstLine(e.getMessage()),
          e);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new FeatureException(out + ": cannot write: " + e.getMessage(), e);
    }
    return new Written(rows, refs.stream().map(Definitions.Ref::column).toList());
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // Left behind as a hidden .tmp file beside the output; the error already went to the user.
    }
  }

  private static void checkNulls(
      FeatureTables t, FeatureTables.Table entities, String where, List<String> keys, String ts)
      throws FeatureException {
    List<String> checked = new ArrayList<>(keys);
    checked.add(ts);
    StringBuilder q = new StringBuilder("select ");
    for (int i = 0; i < checked.size(); i++) {
      q.append(i == 0 ? "" : ", ")
          .append("count(*) filter (where ")
          .append(ident(checked.get(i)))
          .append(" is null)");
    }
    q.append(", count(*) filter (where try_cast(")
        .append(ident(ts))
        .append(" as timestamptz) is null and ")
        .append(ident(ts))
        .append(" is not null) from ")
        .append(entities.sql());
    try (Statement st = t.connection().createStatement();
        ResultSet rs = st.executeQuery(q.toString())) {
      rs.next();
      for (int i = 0; i < checked.size(); i++) {
        long n = rs.getLong(i + 1);
        if (n > 0) {
          throw new FeatureException(
              where
                  + ": column '"
                  + checked.get(i)
                  + "' is empty in "
                  + n
                  + " row(s); every entity row needs its keys and timestamp");
        }
      }
      long bad = rs.getLong(checked.size() + 1);
      if (bad > 0) {
        throw new FeatureException(
            where
                + ": column '"
                + ts
                + "' has "
                + bad
                + " value(s) that are not ISO 8601 timestamps");
      }
    } catch (SQLException e) {
      throw new FeatureException(
          where + ": cannot read: " + FeatureTables.firstLine(e.getMessage()), e);
    }
  }

  /** Numbers join numbers and text joins text; anything else is a mistake worth naming. */
  private static void checkKeyTypes(
      FeatureTables t,
      Map<String, String> entityCols,
      Definitions.View v,
      String normalized,
      String where)
      throws FeatureException {
    Map<String, String> viewCols = t.columns("(" + normalized + ")", "view '" + v.name() + "'");
    for (String k : v.joinKeys()) {
      String a = entityCols.get(k);
      String b = viewCols.get(k);
      if (FeatureType.isNumeric(a) != FeatureType.isNumeric(b)) {
        throw new FeatureException(
            where
                + ": join key '"
                + k
                + "' is "
                + a
                + " but in view '"
                + v.name()
                + "' it is "
                + b);
      }
    }
  }
}
