package dev.kiln.engine.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A small parameter binder over JDBC: positional parameters, rows mapped by a lambda. */
public final class Sql {
  private Sql() {}

  @FunctionalInterface
  public interface RowMapper<T> {
    T map(ResultSet rs) throws SQLException;
  }

  public static int update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      return ps.executeUpdate();
    }
  }

  public static <T> List<T> query(Connection c, String sql, RowMapper<T> m, Object... args)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        List<T> out = new ArrayList<>();
        while (rs.next()) {
          out.add(m.map(rs));
        }
        return out;
      }
    }
  }

  public static <T> Optional<T> one(Connection c, String sql, RowMapper<T> m, Object... args)
      throws SQLException {
    List<T> rows = query(c, sql, m, args);
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
  }

  public static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      int idx = i + 1;
      if (a == null) {
        ps.setNull(idx, Types.NULL);
      } else if (a instanceof Jsonb j) {
        ps.setObject(idx, j.json(), Types.OTHER);
      } else if (a instanceof Instant t) {
        ps.setTimestamp(idx, Timestamp.from(t));
      } else if (a instanceof String[] arr) {
        ps.setArray(idx, ps.getConnection().createArrayOf("text", arr));
      } else {
        ps.setObject(idx, a);
      }
    }
  }

  public static Instant instant(ResultSet rs, String col) throws SQLException {
    Timestamp t = rs.getTimestamp(col);
    return t == null ? null : t.toInstant();
  }

  public static Integer intOrNull(ResultSet rs, String col) throws SQLException {
    int v = rs.getInt(col);
    return rs.wasNull() ? null : v;
  }

  public static Long longOrNull(ResultSet rs, String col) throws SQLException {
    long v = rs.getLong(col);
    return rs.wasNull() ? null : v;
  }

  /** A value bound as jsonb. */
  public record Jsonb(String json) {
    public static Jsonb of(Object o) {
      return new Jsonb(Json.write(o));
    }
  }
}
