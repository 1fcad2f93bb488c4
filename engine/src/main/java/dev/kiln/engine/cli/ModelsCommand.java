package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.AliasEvent;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = {
      "The model registry: versions, aliases and their audited history.",
      "Every alias move records who (KILN_USER, else the OS user), when, from, to and why."
    },
    subcommands = {
      ModelsCommand.ListModels.class,
      ModelsCommand.Show.class,
      ModelsCommand.Promote.class,
      ModelsCommand.Rollback.class,
      ModelsCommand.History.class
    })
final class ModelsCommand implements Runnable {
  static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** The engine of one of these short commands: one plain connection to the store. */
  static Engine open() {
    return Engine.forCommand(KilnConfig.fromEnvironment());
  }

  static void requireModel(Engine e, String name) {
    if (!e.models().exists(name)) {
      throw new UserError("no model '" + name + "' (see 'kiln models list')");
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List models with their versions and aliases.")
  static final class ListModels implements Callable<Integer> {
    @Override
    public Integer call() {
      try (Engine e = open()) {
        List<Map.Entry<String, Integer>> models = e.models().models();
        if (models.isEmpty()) {
          System.out.println("no models yet: a pipeline step 'uses: model/register' adds one");
          return Main.OK;
        }
        System.out.printf("%-28s %-9s %s%n", "MODEL", "VERSIONS", "ALIASES");
        for (var m : models) {
          System.out.printf(
              "%-28s %-9d %s%n",
              m.getKey(), m.getValue(), Refs.map(e.models().aliases(m.getKey())));
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show a model's versions, metrics, tags and aliases.")
  static final class Show implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      try (Engine e = open()) {
        requireModel(e, name);
        Map<String, Integer> aliases = e.models().aliases(name);
        System.out.println("model " + name);
        System.out.println("aliases: " + Refs.map(aliases));
        System.out.printf(
            "%-16s %-19s %-6s %-10s %-12s %s%n",
            "VERSION", "CREATED", "RUN", "BY", "ARTIFACT", "METRICS / TAGS");
        for (ModelVersion v : e.models().versions(name)) {
          StringBuilder marks = new StringBuilder();
          aliases.forEach(
              (a, ver) -> {
                if (ver == v.version()) {
                  marks.append(" [").append(a).append(']');
                }
              });
          System.out.printf(
              "%-16s %-19s %-6s %-10s %-12s %s%n",
              v.version() + marks.toString(),
              TIME.format(v.createdAt()),
              v.runId() == null ? "-" : v.runId(),
              v.createdBy(),
              Refs.shortSha(v.artifactSha256()),
              Refs.metrics(v.metrics()));
          if (!v.tags().isEmpty()) {
            System.out.printf("%-68s tags: %s%n", "", Refs.map(v.tags()));
          }
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "promote",
      mixinStandardHelpOptions = true,
      description = "Point an alias at a version (audited).")
  static final class Promote implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "VERSION")
    int version;

    @Option(
        names = "--alias",
        required = true,
        paramLabel = "ALIAS",
        description = "e.g. staging, production")
    String alias;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the audit trail")
    String reason;

    @Override
    public Integer call() {
      try (Engine e = open()) {
        print(e.models().promote(name, version, alias, Names.who(), reason));
        return Main.OK;
      } catch (RegistryException ex) {
        throw new UserError(ex.getMessage());
      }
    }
  }

  @Command(
      name = "rollback",
      mixinStandardHelpOptions = true,
      description = "Move an alias back to the version it held before its current one (audited).")
  static final class Rollback implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--alias", required = true, paramLabel = "ALIAS")
    String alias;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the audit trail")
    String reason;

    @Override
    public Integer call() {
      try (Engine e = open()) {
        print(e.models().rollback(name, alias, Names.who(), reason));
        return Main.OK;
      } catch (RegistryException ex) {
        throw new UserError(ex.getMessage());
      }
    }
  }

  static void print(ModelRegistry.Move m) {
    if (m.moved()) {
      System.out.println(
          m.name()
              + " "
              + m.alias()
              + ": "
              + (m.from() == null ? "none" : m.from())
              + " -> "
              + m.to());
    } else {
      System.out.println(m.name() + " " + m.alias() + " is already version " + m.to());
    }
  }

  @Command(
      name = "history",
      mixinStandardHelpOptions = true,
      description = {
        "Every move of a model's aliases, oldest first.",
        "With --alias and --at: the version that alias held at that time."
      })
  static final class History implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(names = "--alias", paramLabel = "ALIAS", description = "only this alias")
    String alias;

    @Option(
        names = "--at",
        paramLabel = "TIME",
        description = "an ISO time (2026-11-26T10:00:00Z) or a date (its end, UTC)")
    String at;

    @Override
    public Integer call() {
      try (Engine e = open()) {
        requireModel(e, name);
        if (alias != null) {
          Names.alias(alias);
        }
        if (at != null) {
          if (alias == null) {
            throw new UserError("--at needs --alias: which alias to look up");
          }
          Instant t = Refs.time(at);
          Optional<Integer> v = e.models().versionAt(name, alias, t);
          System.out.println(
              v.isPresent()
                  ? name + " " + alias + " at " + t + ": version " + v.get()
                  : name + " " + alias + " at " + t + ": not set yet");
          return Main.OK;
        }
        List<AliasEvent> events = e.models().history(name, alias);
        if (events.isEmpty()) {
          System.out.println("no alias of " + name + " was ever set");
          return Main.OK;
        }
        System.out.printf(
            "%-24s %-12s %-5s %-4s %-10s %s%n", "WHEN (UTC)", "ALIAS", "FROM", "TO", "WHO", "WHY");
        for (AliasEvent ev : events) {
          System.out.printf(
              "%-24s %-12s %-5s %-4d %-10s %s%n",
              ev.at(),
              ev.alias(),
              ev.fromVersion() == null ? "-" : ev.fromVersion(),
              ev.toVersion(),
              ev.who(),
              ev.why() == null ? "" : ev.why());
        }
        return Main.OK;
      } catch (RegistryException ex) {
        throw new UserError(ex.getMessage());
      }
    }
  }
}
