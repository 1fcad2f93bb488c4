package dev.kiln.steps.features;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.steps.table.DuckDb;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The DuckDB side of the feature store: one in-memory DuckDB per use, its session in UTC, reading
 * sources and entity files and checking their columns against the definitions. Values from
 * definitions reach SQL only as quoted identifiers and string literals; the one piece of SQL a user
 * writes is a view's declared {@code transform}.
 */
final class FeatureTables implements AutoCloseable {
  private final Connection conn;
  private final Engine engine;
  private final List<DatasetVersion> datasetsRead = new ArrayList<>();

  private FeatureTables(Connection conn, Engine engine) {
    this.conn = conn;
    this.engine = engine;
  }

  /** engine may be null when no source or entity file names a Kiln dataset. */
  static FeatureTables open(Engine engine) throws FeatureException {
    try {
      Connection c = DuckDb.open();
      try (Statement st = c.createStatement()) {
        // Naive timestamps are UTC (docs/features.md): the session's zone decides how they read.
        st.execute("SET TimeZone = 'UTC'");
      }
      return new FeatureTables(c, engine);
    } catch (SQLException e) {
      throw new FeatureException("cannot start DuckDB: " + e.getMessage(), e);
    }
  }

  Connection connection() {
    return conn;
  }

  /** The Kiln dataset versions resolved so far (entity rows, sources), for lineage. */
  List<DatasetVersion> datasetsRead() {
    return List.copyOf(datasetsRead);
  }

  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
  }

  /** A table read: a FROM item, and how it is named in messages. */
  record Table(String sql, String label) {}

  /** A file (or glob) or {@code dataset:NAME[@N]}, as a FROM item. */
  Table table(String ref, Path base, String format) throws FeatureException {
    if (ref.startsWith("dataset:")) {
      return dataset(ref.substring("dataset:".length()), format);
    }
    Path p = base.resolve(ref).toAbsolutePath().normalize();
    return file(p.toString(), ref, format);
  }

  Table source(Definitions.Source s) throws FeatureException {
    if (s.dataset() != null) {
      return dataset(s.dataset(), s.format());
    }
    String glob = Path.of(s.dir()).resolve(s.path()).normalize().toString();
    return file(glob, s.path(), s.format());
  }

  private Table file(String glob, String shown, String format) throws FeatureException {
    long matches;
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from glob(" + literal(glob) + ")")) {
      rs.next();
      matches = rs.getLong(1);
    } catch (SQLException e) {
      matches = 0;
    }
    if (matches == 0) {
      throw new FeatureException(shown + ": no such file (looked for " + glob + ")");
    }
    String fmt = format != null ? format : formatOf(glob);
    if (fmt == null) {
      throw new FeatureException(
          shown
              + ": cannot tell the format from the name: use .csv, .csv.gz or .parquet, or set 'format'");
    }
    return new Table(read(glob, fmt), shown);
  }

  private Table dataset(String ref, String format) throws FeatureException {
    if (engine == null) {
      throw new FeatureException("dataset:" + ref + ": datasets need the state store");
    }
    int at = ref.lastIndexOf('@');
    String name = at < 0 ? ref : ref.substring(0, at);
    Optional<DatasetVersion> v;
    if (at < 0) {
      List<DatasetVersion> all = engine.datasets().versions(name);
      v = all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    } else {
      int n;
      try {
        n = Integer.parseInt(ref.substring(at + 1));
      } catch (NumberFormatException e) {
        throw new FeatureException("dataset:" + ref + ": the version after '@' must be a number");
      }
      v = engine.datasets().get(name, n);
    }
    DatasetVersion dv =
        v.orElseThrow(
            () ->
                new FeatureException(
                    "dataset:" + ref + ": no such dataset version (see 'kiln datasets list')"));
    Path stored = engine.artifacts().path(dv.sha256());
    String fmt = format != null ? format : formatOf(dv.sourcePath() == null ? "" : dv.sourcePath());
    if (fmt == null) {
      throw new FeatureException(
          "dataset:"
              + dv.ref()
              + ": not a CSV or Parquet file ("
              + dv.sourcePath()
              + "); set 'format'");
    }
    if (!datasetsRead.contains(dv)) {
      datasetsRead.add(dv);
    }
    return new Table(read(stored.toString(), fmt), "dataset:" + dv.ref());
  }

  static String formatOf(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".parquet") || n.endsWith(".pq")) {
      return "parquet";
    }
    if (n.endsWith(".csv")
        || n.endsWith(".csv.gz")
        || n.endsWith(".tsv")
        || n.endsWith(".tsv.gz")) {
      return "csv";
    }
    return null;
  }

  private static String read(String glob, String format) {
    return format.equals("parquet")
        ? "read_parquet(" + literal(glob) + ", union_by_name = true)"
        : "read_csv("
            + literal(glob)
            + ", header = true, auto_detect = true, union_by_name = true)";
  }

  /** Column name to DuckDB type, in table order. */
  Map<String, String> columns(String fromItem, String label) throws FeatureException {
    Map<String, String> out = new LinkedHashMap<>();
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("describe select * from " + fromItem)) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getString(2));
      }
    } catch (SQLException e) {
      throw new FeatureException(label + ": cannot read: " + firstLine(e.getMessage()), e);
    }
    return out;
  }

  /** The rows of a view's source, transformed when the view says so, as a FROM item. */
  Table viewSource(Definitions.View v) throws FeatureException {
    Table src = source(v.source());
    if (v.transform() == null) {
      return src;
    }
    return new Table(
        "(with source as (select * from " + src.sql() + ") " + v.transform() + ")",
        src.label() + " (transformed by view '" + v.name() + "')");
  }

  /**
   * The view's rows normalised: join keys, {@code __kiln_ts} and {@code __kiln_created} as UTC
   * timestamps, features cast to their declared types; rows without keys or event time dropped; of
   * rows with the same keys and event time, only the latest created one (when declared) kept.
   * Checks the columns first: a missing column or a type the declaration does not accept is an
   * error naming the source, the view and the column.
   */
  String normalized(Definitions.View v) throws FeatureException {
    return normalized(v, true);
  }

  /**
   * Without {@code latestCreated}, rows with the same keys and event time are all kept: for a query
   * that orders by created time itself (a second QUALIFY over the first trips a DuckDB 1.5 planner
   * error).
   */
  String normalized(Definitions.View v, boolean latestCreated) throws FeatureException {
    Table src = viewSource(v);
    Map<String, String> cols = columns(src.sql(), src.label());
    String where = "view '" + v.name() + "', " + src.label();
    StringBuilder sel = new StringBuilder("select ");
    StringBuilder notNull = new StringBuilder();
    for (String k : v.joinKeys()) {
      need(cols, k, where, "join key");
      sel.append(ident(k)).append(", ");
      notNull.append(notNull.isEmpty() ? "" : " and ").append(ident(k)).append(" is not null");
    }
    String ts = v.source().timestamp();
    need(cols, ts, where, "event timestamp");
    timestampType(cols.get(ts), where, ts);
    sel.append(utc(ts)).append(" as __kiln_ts, ");
    String created = v.source().created();
    if (created != null) {
      need(cols, created, where, "created timestamp");
      timestampType(cols.get(created), where, created);
      sel.append(utc(created)).append(" as __kiln_created");
    } else {
      sel.append("cast(null as timestamptz) as __kiln_created");
    }
    for (Definitions.Feature f : v.features()) {
      need(cols, f.name(), where, "feature");
      String type = cols.get(f.name());
      if (!f.type().accepts(type)) {
        throw new FeatureException(
            where
                + ": column '"
                + f.name()
                + "' is "
                + type
                + " but the feature is declared "
                + f.type().label());
      }
      sel.append(", cast(")
          .append(ident(f.name()))
          .append(" as ")
          .append(f.type().sqlType)
          .append(") as ")
          .append(ident(f.name()));
    }
    sel.append(" from ")
        .append(src.sql())
        .append(" where ")
        .append(notNull)
        .append(" and ")
        .append(ident(ts))
        .append(" is not null");
    if (created == null || !latestCreated) {
      return sel.toString();
    }
    StringBuilder keys = new StringBuilder();
    for (String k : v.joinKeys()) {
      keys.append(ident(k)).append(", ");
    }
    return "select * from ("
        + sel
        + ") qualify row_number() over (partition by "
        + keys
        + "__kiln_ts order by __kiln_created desc nulls last) = 1";
  }

  static String utc(String column) {
    return "cast(" + ident(column) + " as timestamptz)";
  }

  private static void need(Map<String, String> cols, String col, String where, String what)
      throws FeatureException {
    if (!cols.containsKey(col)) {
      throw new FeatureException(
          where
              + ": no column '"
              + col
              + "' (the "
              + what
              + "); columns: "
              + String.join(", ", cols.keySet()));
    }
  }

  static void timestampType(String type, String where, String col) throws FeatureException {
    String t = type.toUpperCase(Locale.ROOT);
    if (!(t.startsWith("TIMESTAMP") || t.equals("DATE") || t.equals("VARCHAR"))) {
      throw new FeatureException(
          where
              + ": column '"
              + col
              + "' is "
              + type
              + ", not a timestamp (ISO 8601, e.g. 2024-05-01T10:00:00Z)");
    }
  }

  static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  @Override
  public void close() {
    try {
      conn.close();
    } catch (SQLException e) {
      // An in-memory database: nothing is lost when its close fails.
    }
  }
}
