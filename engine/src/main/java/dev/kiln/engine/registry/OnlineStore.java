package dev.kiln.engine.registry;

import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The online feature table: the latest value of each view for each entity, loaded by
 * materialization (one upsert per batch) and read by {@code kiln features get} and {@code GET
 * /api/features/online}. Ttl is enforced when reading: a value older than its view's ttl at the
 * moment asked about is reported {@code outside_ttl}, not served.
 */
public final class OnlineStore {
  /** Separates the values of a view's join keys in {@code entity_key}. */
  public static final String KEY_SEPARATOR = "\u001f";

  public static final String PRESENT = "present";
  public static final String MISSING = "missing";
  public static final String OUTSIDE_TTL = "outside_ttl";

  /** Bounds the cache of resolved services; past it the cache restarts. */
  private static final int MAX_CACHED = 1000;

  private final Database db;
  private final FeatureRegistry registry;
  private final Map<String, Resolved> resolved = new ConcurrentHashMap<>();

  public OnlineStore(Database db) {
    this.db = db;
    this.registry = new FeatureRegistry(db);
  }

  /** One entity's latest row of a view: values is a JSON object of feature name to value. */
  public record Row(String entityKey, Instant eventTs, Instant createdTs, String valuesJson) {}

  /** Produces the rows to load, a batch at a time; an empty batch ends the load. */
  @FunctionalInterface
  public interface Batches {
    List<Row> next() throws Exception;
  }

  /**
   * Loads a view's rows and moves its watermark to {@code watermark}, in one transaction: a load
   * that fails leaves the table and the watermark as they were. A row replaces the stored one only
   * when it is not older (event time, then created time). Returns the number of rows loaded.
   */
  public long load(String view, Instant watermark, Batches batches) {
    return db.tx()
        .inTransaction(
            c -> {
              long n = 0;
              try (PreparedStatement ps = c.prepareStatement(UPSERT)) {
                for (List<Row> batch = batches.next(); !batch.isEmpty(); batch = batches.next()) {
                  upsert(c, ps, view, batch);
                  n += batch.size();
                }
              } catch (SQLException | RuntimeException e) {
                throw e;
              } catch (Exception e) {
                throw new IllegalStateException(e.getMessage(), e);
              }
              FeatureRegistry.setWatermark(c, view, watermark, n);
              return n;
            });
  }

  private static final String UPSERT =
      """
      insert into feature_online (view_name, entity_key, event_ts, created_ts, feature_values)
      select ?, k, t::timestamptz, ct::timestamptz, v::jsonb
        from unnest(?::text[], ?::text[], ?::text[], ?::text[]) as x(k, t, ct, v)
      on conflict (view_name, entity_key) do update
         set event_ts = excluded.event_ts, created_ts = excluded.created_ts,
             feature_values = excluded.feature_values, written_at = now()
       where (excluded.event_ts, coalesce(excluded.created_ts, '-infinity'))
          >= (feature_online.event_ts, coalesce(feature_online.created_ts, '-infinity'))""";

  private static void upsert(Connection c, PreparedStatement ps, String view, List<Row> batch)
      throws SQLException {
    String[] keys = new String[batch.size()];
    String[] ts = new String[batch.size()];
    String[] created = new String[batch.size()];
    String[] values = new String[batch.size()];
    for (int i = 0; i < keys.length; i++) {
      Row r = batch.get(i);
      keys[i] = r.entityKey();
      ts[i] = r.eventTs().toString();
      created[i] = r.createdTs() == null ? null : r.createdTs().toString();
      values[i] = r.valuesJson();
    }
    Sql.bind(ps, view, keys, ts, created, values);
    ps.executeUpdate();
  }

  /**
   * The values of a service's features for one or more entities, as of {@code at}. Keys hold each
   * join key's values, one per entity (a key given once applies to every entity). One entity gives
   * a value per feature; several give a list per feature, in the order given.
   */
  public record Lookup(
      String service, int version, Map<String, Object> features, Map<String, Object> status) {}

  public Lookup lookup(String service, Map<String, List<String>> keys, Instant at) {
    Resolved r = resolved.get(service);
    Map<String, List<String>> entityKeys;
    if (r == null) {
      r = resolve(service);
      entityKeys = entityKeys(service, r, keys);
    } else {
      try {
        entityKeys = entityKeys(service, r, keys);
      } catch (RegistryException wrongKeys) {
        // The cached definitions may be the ones out of date, not the request.
        r = resolve(service);
        entityKeys = entityKeys(service, r, keys);
      }
    }
    // One round trip per lookup: the rows, and the stamp that says whether the cached
    // definitions are still current; when not, resolve again and read again (an apply that
    // keeps racing the lookup gets the rows read with the last resolution).
    for (int attempt = 0; ; attempt++) {
      Rows rows = read(entityKeys);
      if (Objects.equals(rows.stamp(), r.stamp()) || attempt == 2) {
        return answer(r, entityKeys, rows.rows(), at);
      }
      r = resolve(service);
      entityKeys = entityKeys(service, r, keys);
    }
  }

  /**
   * The plan PostgreSQL runs a lookup of {@code keys} with: {@code EXPLAIN (ANALYZE, BUFFERS)} of
   * the one statement {@link #lookup} sends, for benchmarks and for operators asking why a lookup
   * is slow.
   */
  public String explain(String service, Map<String, List<String>> keys) {
    Read read = statement(entityKeys(service, resolve(service), keys));
    return db.tx()
        .autocommit(
            c ->
                String.join(
                    "\n",
                    Sql.query(
                        c,
                        "explain (analyze, buffers) " + read.sql(),
                        rs -> rs.getString(1),
                        read.args())));
  }

  /**
   * A service's current version as of {@code stamp}: its columns in order and the join keys of each
   * of its views (worked out once per resolution, not per lookup).
   */
  private record Resolved(
      Instant stamp,
      FeatureRegistry.Definition svc,
      List<Column> columns,
      Map<String, List<String>> joinKeys) {}

  /** One feature of a service: its view, its name in the answer, and its view's ttl (or null). */
  private record Column(String view, String feature, String name, Duration ttl) {}

  private Resolved resolve(String service) {
    resolved.remove(service);
    Instant stamp = registry.lastApplied().orElse(null);
    FeatureRegistry.Definition svc =
        registry
            .current("service", service)
            .orElseThrow(() -> new NotFound("no feature service '" + service + "'"));
    List<Ref> refs = new ArrayList<>();
    Map<String, FeatureRegistry.Definition> views = new LinkedHashMap<>();
    for (Object o : (List<?>) svc.spec().get("features")) {
      Map<?, ?> m = (Map<?, ?>) o;
      Ref ref = new Ref(String.valueOf(m.get("view")), String.valueOf(m.get("feature")));
      refs.add(ref);
      if (!views.containsKey(ref.view)) {
        views.put(
            ref.view,
            registry
                .current("view", ref.view)
                .orElseThrow(
                    () ->
                        new RegistryException(
                            "feature service '"
                                + service
                                + "' uses view '"
                                + ref.view
                                + "', which is not applied")));
      }
    }
    List<Column> columns = new ArrayList<>();
    Map<String, List<String>> joinKeys = new LinkedHashMap<>();
    for (Ref ref : refs) {
      Map<String, Object> spec = views.get(ref.view).spec();
      Duration ttl =
          spec.get("ttl_seconds") instanceof Number secs
              ? Duration.ofSeconds(secs.longValue())
              : null;
      columns.add(new Column(ref.view, ref.feature, ref.view + "__" + ref.feature, ttl));
      joinKeys.putIfAbsent(ref.view, List.copyOf(strings(spec.get("join_keys"))));
    }
    Resolved r =
        new Resolved(stamp, svc, List.copyOf(columns), Collections.unmodifiableMap(joinKeys));
    if (resolved.size() >= MAX_CACHED) {
      resolved.clear();
    }
    resolved.put(service, r);
    return r;
  }

  /** The entity key of each view, per entity, from the keys given. */
  private static Map<String, List<String>> entityKeys(
      String service, Resolved r, Map<String, List<String>> keys) {
    int entities = entityCount(keys);
    Map<String, List<String>> entityKeys = new LinkedHashMap<>();
    Set<String> used = new LinkedHashSet<>();
    for (var v : r.joinKeys().entrySet()) {
      List<String> joinKeys = v.getValue();
      List<String> perEntity = new ArrayList<>(entities);
      for (int i = 0; i < entities; i++) {
        List<String> parts = new ArrayList<>(joinKeys.size());
        for (String k : joinKeys) {
          List<String> given = keys.get(k);
          if (given == null) {
            throw new RegistryException(
                "missing key '"
                    + k
                    + "' (view '"
                    + v.getKey()
                    + "' of service '"
                    + service
                    + "' is keyed by "
                    + String.join(", ", joinKeys)
                    + ")");
          }
          used.add(k);
          parts.add(given.size() == 1 ? given.get(0) : given.get(i));
        }
        perEntity.add(parts.size() == 1 ? parts.get(0) : String.join(KEY_SEPARATOR, parts));
      }
      entityKeys.put(v.getKey(), perEntity);
    }
    for (String k : keys.keySet()) {
      if (!used.contains(k)) {
        throw new RegistryException(
            "unknown key '"
                + k
                + "': service '"
                + service
                + "' is keyed by "
                + String.join(", ", used));
      }
    }
    return entityKeys;
  }

  private static Lookup answer(
      Resolved r,
      Map<String, List<String>> entityKeys,
      Map<String, Map<String, Stored>> rows,
      Instant at) {
    int entities = entityKeys.values().iterator().next().size();
    Map<String, Object> features = new LinkedHashMap<>();
    Map<String, Object> status = new LinkedHashMap<>();
    for (Column col : r.columns()) {
      Instant oldest = col.ttl() == null ? null : at.minus(col.ttl());
      Map<String, Stored> viewRows = rows.getOrDefault(col.view(), Map.of());
      List<Object> values = new ArrayList<>(entities);
      List<Object> states = new ArrayList<>(entities);
      for (String key : entityKeys.get(col.view())) {
        Stored row = viewRows.get(key);
        Object value = row == null ? null : row.values.get(col.feature());
        String state;
        if (row == null || value == null) {
          state = MISSING;
        } else if (oldest != null && row.eventTs.isBefore(oldest)) {
          state = OUTSIDE_TTL;
          value = null;
        } else {
          state = PRESENT;
        }
        values.add(value);
        states.add(state);
      }
      features.put(col.name(), entities == 1 ? values.get(0) : values);
      status.put(col.name(), entities == 1 ? states.get(0) : states);
    }
    return new Lookup(r.svc().name(), r.svc().version(), features, status);
  }

  private record Ref(String view, String feature) {}

  private record Stored(Instant eventTs, Map<String, Object> values) {}

  /** The stamp of the definitions, and the rows found by view and entity key. */
  private record Rows(Instant stamp, Map<String, Map<String, Stored>> rows) {}

  private Rows read(Map<String, List<String>> entityKeys) {
    Read read = statement(entityKeys);
    return db.tx()
        .autocommit(
            c -> {
              Map<String, Map<String, Stored>> out = new HashMap<>();
              Instant[] stamp = new Instant[1];
              Sql.query(
                  c,
                  read.sql(),
                  rs -> {
                    String view = rs.getString(1);
                    if (view == null) {
                      stamp[0] = Sql.instant(rs, "stamp");
                    } else {
                      out.computeIfAbsent(view, v -> new HashMap<>())
                          .put(
                              rs.getString(2),
                              new Stored(
                                  Sql.instant(rs, "event_ts"), Json.readMap(rs.getString(4))));
                    }
                    return null;
                  },
                  read.args());
              return new Rows(stamp[0], out);
            });
  }

  /** The statement that reads these rows, and its arguments. */
  private record Read(String sql, Object[] args) {}

  /**
   * Up to this many (view, entity key) pairs are sent as a VALUES list of that length; more as two
   * arrays. PostgreSQL estimates an array's {@code unnest} from its value, so a prepared statement
   * over arrays gets a custom plan (planned again) at every execution, which cost as much as
   * running it; a VALUES list has the same estimate with any values, so after five executions on a
   * connection the server keeps one generic plan and plans no more (docs/benchmarks.md, issue 15).
   * One statement per length, so each connection keeps at most this many of them.
   */
  public static final int LISTED_PAIRS = 32;

  /** The statement and arguments that read the rows of {@code keysByView} (view, keys). */
  private static Read statement(Map<String, List<String>> keysByView) {
    int pairs = 0;
    for (List<String> ks : keysByView.values()) {
      pairs += ks.size();
    }
    if (pairs <= LISTED_PAIRS) {
      Object[] args = new Object[2 * pairs];
      int i = 0;
      for (var e : keysByView.entrySet()) {
        for (String k : e.getValue()) {
          args[i++] = e.getKey();
          args[i++] = k;
        }
      }
      return new Read(READ_LISTED[pairs], args);
    }
    String[] viewNames = new String[pairs];
    String[] keyList = new String[pairs];
    int i = 0;
    for (var e : keysByView.entrySet()) {
      for (String k : e.getValue()) {
        viewNames[i] = e.getKey();
        keyList[i++] = k;
      }
    }
    return new Read(READ_ARRAYS, new Object[] {viewNames, keyList});
  }

  /** The rows by primary key, and (view_name null) when definitions were last applied. */
  private static final String READ_HEAD =
      """
      select null::text as view_name, null::text as entity_key, null::timestamptz as event_ts,
             null::text as feature_values, max(applied_at) as stamp
        from feature_definitions
      union all
      select o.view_name, o.entity_key, o.event_ts, o.feature_values::text, null
        from\s""";

  private static final String READ_JOIN =
      "\n  join feature_online o on o.view_name = x.v and o.entity_key = x.k";

  private static final String READ_ARRAYS =
      READ_HEAD + "unnest(?::text[], ?::text[]) as x(v, k)" + READ_JOIN;

  private static final String[] READ_LISTED = new String[LISTED_PAIRS + 1];

  static {
    for (int n = 1; n <= LISTED_PAIRS; n++) {
      READ_LISTED[n] =
          READ_HEAD
              + "(values "
              + String.join(", ", Collections.nCopies(n, "(?::text, ?::text)"))
              + ") as x(v, k)"
              + READ_JOIN;
    }
  }

  private static int entityCount(Map<String, List<String>> keys) {
    if (keys.isEmpty()) {
      throw new RegistryException("no entity keys given: pass KEY=VALUE for each join key");
    }
    int n = 1;
    for (var e : keys.entrySet()) {
      int size = e.getValue().size();
      if (size != 1 && n != 1 && size != n) {
        throw new RegistryException(
            "key '"
                + e.getKey()
                + "' has "
                + size
                + " values but another key has "
                + n
                + ": give each key once or once per entity");
      }
      n = Math.max(n, size);
    }
    return n;
  }

  private static List<String> strings(Object o) {
    List<String> out = new ArrayList<>();
    if (o instanceof List<?> l) {
      l.forEach(x -> out.add(String.valueOf(x)));
    }
    return out;
  }

  /** The service asked for does not exist (HTTP 404). */
  public static final class NotFound extends RuntimeException {
    public NotFound(String message) {
      super(message);
    }
  }
}
