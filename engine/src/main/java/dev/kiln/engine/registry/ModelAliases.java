package dev.kiln.engine.registry;

import dev.kiln.engine.registry.ModelRegistry.Move;
import dev.kiln.engine.store.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Alias moves and their history for {@link ModelRegistry}: each move updates {@code model_aliases}
 * and appends to {@code model_alias_events}, inside the caller's transaction.
 */
final class ModelAliases {
  private ModelAliases() {}

  /** Moves an alias back to the version it held before its current one was set. */
  static Move rollback(Connection c, String name, String alias, String who, String why)
      throws SQLException {
    ModelRegistry.lockExisting(c, name);
    Optional<Integer[]> last =
        Sql.one(
            c,
            """
          select from_version, to_version from model_alias_events
           where name = ? and alias = ? order by at desc, id desc limit 1""",
            rs -> new Integer[] {Sql.intOrNull(rs, "from_version"), rs.getInt(2)},
            name,
            alias);
    if (last.isEmpty()) {
      throw new RegistryException("alias '" + alias + "' of model '" + name + "' was never set");
    }
    if (last.get()[0] == null) {
      throw new RegistryException(
          "alias '"
              + alias
              + "' of model '"
              + name
              + "' held no version before "
              + last.get()[1]
              + "; nothing to roll back to");
    }
    return move(c, name, alias, last.get()[0], who, why == null ? "rollback" : why);
  }

  static Move move(Connection c, String name, String alias, int to, String who, String why)
      throws SQLException {
    Integer from =
        Sql.one(
                c,
                "select version from model_aliases where name = ? and alias = ?",
                rs -> rs.getInt(1),
                name,
                alias)
            .orElse(null);
    if (from != null && from == to) {
      return new Move(name, alias, from, to, false);
    }
    Sql.update(
        c,
        """
        insert into model_aliases (name, alias, version) values (?, ?, ?)
        on conflict (name, alias) do update set version = excluded.version, updated_at = now()""",
        name,
        alias,
        to);
    Sql.update(
        c,
        """
        insert into model_alias_events (name, alias, from_version, to_version, who, why)
        values (?, ?, ?, ?, ?, ?)""",
        name,
        alias,
        from,
        to,
        who,
        why);
    return new Move(name, alias, from, to, true);
  }

  /** The version an alias pointed at, at an instant; empty when it was not set yet. */
  static Optional<Integer> versionAt(Connection c, String name, String alias, Instant at)
      throws SQLException {
    return Sql.one(
        c,
        """
        select to_version from model_alias_events
         where name = ? and alias = ? and at <= ? order by at desc, id desc limit 1""",
        rs -> rs.getInt(1),
        name,
        alias,
        at);
  }

  /** Alias moves, oldest first; alias null means every alias of the model. */
  static List<AliasEvent> history(Connection c, String name, String alias) throws SQLException {
    return Sql.query(
        c,
        """
        select id, name, alias, from_version, to_version, who, why, at from model_alias_events
         where name = ? and (?::text is null or alias = ?) order by at, id""",
        rs ->
            new AliasEvent(
                rs.getLong(1),
                rs.getString(2),
                rs.getString(3),
                Sql.intOrNull(rs, "from_version"),
                rs.getInt(5),
                rs.getString(6),
                rs.getString(7),
                Sql.instant(rs, "at")),
        name,
        alias,
        alias);
  }
}
