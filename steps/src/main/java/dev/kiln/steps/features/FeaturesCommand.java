package dev.kiln.steps.features;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.FeatureRegistry;
import dev.kiln.engine.registry.OnlineStore;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.store.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln features ...}: definitions, training sets, materialization, online values. */
@Command(
    name = "features",
    mixinStandardHelpOptions = true,
    description = {
      "The feature store: definitions (kind: features YAML files) stored as versions,",
      "point-in-time training sets, and online values served from PostgreSQL.",
      "See docs/features.md."
    },
    subcommands = {
      FeaturesCommand.Apply.class,
      FeaturesCommand.ListDefs.class,
      FeaturesCommand.Show.class,
      FeaturesCommand.Training.class,
      FeaturesCommand.Materialize.class,
      FeaturesCommand.Get.class,
      CommandLine.HelpCommand.class
    })
public final class FeaturesCommand implements Runnable {
  static final int OK = 0;
  static final int USAGE = 2;

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The work of a subcommand; a {@link FeatureException} is a one-line (or more) user error. */
  interface Work {
    int run(FeatureStore store, PrintWriter out) throws FeatureException;
  }

  static int withStore(CommandSpec spec, Work work) {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 2)) {
      return work.run(new FeatureStore(engine), out);
    } catch (FeatureException | RegistryException | OnlineStore.NotFound e) {
      err.println("kiln: " + e.getMessage());
      return USAGE;
    } finally {
      out.flush();
      err.flush();
    }
  }

  /** ISO 8601; without an offset it is UTC, like every naive timestamp in the feature store. */
  static Instant instant(String text, String what) throws FeatureException {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return LocalDateTime.parse(text.replace(' ', 'T')).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e2) {
        throw new FeatureException(
            what + ": '" + text + "' is not an ISO 8601 timestamp like 2024-05-01T10:00:00Z");
      }
    }
  }

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description = {
        "Validate the kind: features files of DIR and store each definition as a version",
        "keyed by its content hash (unchanged ones keep their version). Views whose source",
        "exists are checked against it: columns and types."
      })
  static final class Apply implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, out) -> {
            Definitions d = DefinitionsParser.parseDir(dir);
            try (FeatureTables t = FeatureTables.open(store.engine())) {
              for (Definitions.View v : d.views().values()) {
                try {
                  t.viewSource(v);
                } catch (FeatureException missing) {
                  out.println(
                      "note: view "
                          + v.name()
                          + ": "
                          + missing.getMessage()
                          + "; checked when used");
                  continue;
                }
                t.normalized(v);
              }
            }
            for (FeatureRegistry.Applied a : store.apply(d)) {
              FeatureRegistry.Definition def = a.definition();
              out.printf(
                  "%-8s %-28s version %-4d %s%n",
                  def.kind(), def.name(), def.version(), a.created() ? "new" : "unchanged");
            }
            return OK;
          });
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "The current version of every feature definition.")
  static final class ListDefs implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, out) -> {
            List<FeatureRegistry.Definition> all = store.registry().current();
            if (all.isEmpty()) {
              out.println("no feature definitions yet: 'kiln features apply DIR' adds them");
              return OK;
            }
            out.printf("%-8s %-28s %-8s %-12s %s%n", "KIND", "NAME", "VERSION", "SHA256", "FILE");
            for (FeatureRegistry.Definition d : all) {
              out.printf(
                  "%-8s %-28s %-8d %-12s %s%n",
                  d.kind(), d.name(), d.version(), d.sha256().substring(0, 12), d.file());
            }
            return OK;
          });
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Every version of the definitions named NAME, the current one's spec as JSON.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, out) -> {
            List<FeatureRegistry.Definition> versions = store.registry().versions(name);
            if (versions.isEmpty()) {
              throw new FeatureException(
                  "no feature definition named '" + name + "' (see 'kiln features list')");
            }
            String kind = null;
            for (FeatureRegistry.Definition d : versions) {
              if (!d.kind().equals(kind)) {
                kind = d.kind();
                FeatureRegistry.Definition current =
                    store.registry().current(kind, name).orElseThrow();
                out.println(kind + " " + name + " (current: version " + current.version() + ")");
                out.println("  " + Json.write(current.spec()));
              }
              out.printf(
                  "  version %d  sha256 %s  %s  applied %s%n",
                  d.version(), d.sha256().substring(0, 12), d.file(), d.appliedAt());
            }
            return OK;
          });
    }
  }

  @Command(
      name = "training-set",
      mixinStandardHelpOptions = true,
      description = {
        "A point-in-time-correct training set: the entity file's rows (join keys, event",
        "timestamp, any labels) with one column VIEW__FEATURE per feature of the service,",
        "each the latest value at or before the row's time (within the view's ttl)."
      })
  static final class Training implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--service", required = true, paramLabel = "NAME")
    String service;

    @Option(
        names = "--entities",
        required = true,
        paramLabel = "FILE",
        description = "CSV or Parquet file, or dataset:NAME[@VERSION]")
    String entities;

    @Option(
        names = "--out",
        required = true,
        paramLabel = "FILE",
        description = "where to write it: .parquet or .csv")
    Path out;

    @Option(
        names = "--timestamp",
        paramLabel = "COLUMN",
        defaultValue = TrainingSet.DEFAULT_TIMESTAMP,
        description = "the entity file's event-time column (default ${DEFAULT-VALUE})")
    String timestamp;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, o) -> {
            FeatureStore.Service s = store.service(service);
            try (FeatureTables t = FeatureTables.open(store.engine())) {
              TrainingSet.Written w =
                  TrainingSet.write(
                      t, t.table(entities, Path.of(""), null), timestamp, s.views(), s.refs(), out);
              o.println(
                  "wrote "
                      + w.rows()
                      + " rows to "
                      + out
                      + " (feature service "
                      + s.ref()
                      + ": "
                      + String.join(", ", w.featureColumns())
                      + ")");
            }
            return OK;
          });
    }
  }

  @Command(
      name = "materialize",
      mixinStandardHelpOptions = true,
      description = {
        "Load the latest value per entity of each view (or only --view) into the online",
        "table, from the view's watermark (first run: end - ttl, or all history) to --end."
      })
  static final class Materialize implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--view", paramLabel = "NAME", description = "only this view (repeatable)")
    List<String> views = new ArrayList<>();

    @Option(
        names = "--end",
        paramLabel = "TIMESTAMP",
        description = "ISO 8601 (UTC when no offset); default now")
    String end;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, out) -> {
            Instant until = end == null ? Instant.now() : instant(end, "--end");
            for (Materializer.Result r : materialize(store, views, until)) {
              out.println(
                  r.view()
                      + ": "
                      + r.rows()
                      + " rows ("
                      + (r.from() == null ? "all history" : "after " + r.from())
                      + " up to "
                      + r.to()
                      + ")");
            }
            return OK;
          });
    }
  }

  static List<Materializer.Result> materialize(FeatureStore store, List<String> names, Instant end)
      throws FeatureException {
    List<Definitions.View> views = new ArrayList<>();
    if (names.isEmpty()) {
      views.addAll(store.views());
      if (views.isEmpty()) {
        throw new FeatureException("no feature views: 'kiln features apply DIR' adds them");
      }
    } else {
      for (String n : names) {
        views.add(store.view(n));
      }
    }
    List<Materializer.Result> out = new ArrayList<>();
    try (FeatureTables t = FeatureTables.open(store.engine())) {
      for (Definitions.View v : views) {
        out.add(Materializer.run(store, t, v, end));
      }
    }
    return out;
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = {
        "The online values of a service's features for an entity (KEY=VALUE per join key;",
        "repeat a key for several entities), with a status per value: present, missing,",
        "or outside_ttl (older than the view's ttl: not served)."
      })
  static final class Get implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--service", required = true, paramLabel = "NAME")
    String service;

    @Parameters(paramLabel = "KEY=VALUE", arity = "1..*")
    List<String> pairs;

    @Option(names = "--json", description = "print {\"features\": ..., \"status\": ...}")
    boolean json;

    @Option(
        names = "--at",
        paramLabel = "TIMESTAMP",
        description = "judge the ttl at this moment instead of now")
    String at;

    @Override
    public Integer call() {
      return withStore(
          spec,
          (store, out) -> {
            Map<String, List<String>> keys = new LinkedHashMap<>();
            for (String p : pairs) {
              int eq = p.indexOf('=');
              if (eq <= 0) {
                throw new FeatureException("'" + p + "' is not KEY=VALUE");
              }
              keys.computeIfAbsent(p.substring(0, eq), k -> new ArrayList<>())
                  .add(p.substring(eq + 1));
            }
            Instant when = at == null ? Instant.now() : instant(at, "--at");
            OnlineStore.Lookup l = store.online().lookup(service, keys, when);
            if (json) {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("features", l.features());
              m.put("status", l.status());
              out.println(Json.write(m));
              return OK;
            }
            out.printf("%-40s %-20s %s%n", "FEATURE", "VALUE", "STATUS");
            for (var e : l.features().entrySet()) {
              out.printf(
                  "%-40s %-20s %s%n",
                  e.getKey(), String.valueOf(e.getValue()), l.status().get(e.getKey()));
            }
            return OK;
          });
    }
  }
}
