package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.BuiltinSpec;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The built-in steps a pipeline may use, passed in by the caller (the engine loads them through
 * ServiceLoader): the parser checks {@code uses:} and {@code with:} against it. The DSL itself
 * knows no built-in.
 */
public interface Catalogue {
  /** The built-in of that name, if there is one. */
  Optional<BuiltinSpec> find(String name);

  /** Every built-in name, for suggestions. */
  Collection<String> names();

  /** Whether {@code uses:} and {@code with:} are checked at all. */
  default boolean checks() {
    return true;
  }

  /** No checks: any {@code uses:} and any {@code with:} (a stored pipeline read again). */
  Catalogue NONE =
      new Catalogue() {
        @Override
        public Optional<BuiltinSpec> find(String name) {
          return Optional.empty();
        }

        @Override
        public Collection<String> names() {
          return List.of();
        }

        @Override
        public boolean checks() {
          return false;
        }
      };

  /** A catalogue of these built-ins; none at all means no checks (nothing to check against). */
  static Catalogue of(Collection<BuiltinSpec> specs) {
    if (specs.isEmpty()) {
      return NONE;
    }
    Map<String, BuiltinSpec> byName = new TreeMap<>();
    specs.forEach(s -> byName.put(s.name(), s));
    return new Catalogue() {
      @Override
      public Optional<BuiltinSpec> find(String name) {
        return Optional.ofNullable(byName.get(name));
      }

      @Override
      public Collection<String> names() {
        return byName.keySet();
      }
    };
  }
}
