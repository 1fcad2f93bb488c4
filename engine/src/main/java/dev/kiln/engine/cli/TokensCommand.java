package dev.kiln.engine.cli;

import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.TokenStore;
import dev.kiln.engine.store.TokenStore.ApiToken;
import dev.kiln.engine.store.TokenStore.TokenException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "tokens",
    mixinStandardHelpOptions = true,
    description = {
      "Manage the API tokens of the servers on this database.",
      "Every /api/ request to 'kiln server' carries 'Authorization: Bearer TOKEN'.",
      "Roles: viewer reads; operator also starts, cancels and retries runs;",
      "admin also promotes and rolls back models and manages tokens.",
      "These commands work on the database directly (KILN_DB_URL or the embedded one)."
    },
    subcommands = {
      TokensCommand.Create.class,
      TokensCommand.ListTokens.class,
      TokensCommand.Revoke.class
    })
final class TokensCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create a token and print it once, alone on the last line of stdout.",
        "Only its SHA-256 is stored: it cannot be shown again."
      })
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "who or what uses it, e.g. ci")
    String name;

    @Option(
        names = "--role",
        required = true,
        paramLabel = "ROLE",
        description = "viewer, operator or admin")
    String role;

    @Override
    public Integer call() {
      Role r = Role.parse(role);
      if (r == null) {
        throw new UserError("--role must be viewer, operator or admin, got '" + role + "'");
      }
      try (Database db = Database.open(KilnConfig.fromEnvironment(), 2)) {
        String token = new TokenStore(db).create(name, r);
        System.err.println(
            "created token '" + name + "' (" + r.db() + "); it is shown only this once:");
        System.out.println(token);
        return Main.OK;
      } catch (TokenException e) {
        throw new UserError(e.getMessage());
      }
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List tokens: name, role, created, last used, revoked. Never a token.")
  static final class ListTokens implements Callable<Integer> {
    @Override
    public Integer call() {
      try (Database db = Database.open(KilnConfig.fromEnvironment(), 2)) {
        List<ApiToken> tokens = new TokenStore(db).list();
        if (tokens.isEmpty()) {
          System.out.println(
              "no tokens; create the first with 'kiln tokens create NAME --role admin'");
          return Main.OK;
        }
        String format = "%-24s %-9s %-21s %-21s %s%n";
        System.out.printf(format, "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED");
        for (ApiToken t : tokens) {
          System.out.printf(
              format,
              t.name(),
              t.role().db(),
              time(t.createdAt()),
              time(t.lastUsedAt()),
              time(t.revokedAt()));
        }
        return Main.OK;
      }
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = {
        "Revoke the token named NAME. Servers refuse it within "
            + "5 seconds (they remember a verified token that long)."
      })
  static final class Revoke implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() {
      try (Database db = Database.open(KilnConfig.fromEnvironment(), 2)) {
        if (!new TokenStore(db).revoke(name)) {
          throw new UserError("no active token named '" + name + "' (see 'kiln tokens list')");
        }
        System.out.println("revoked token '" + name + "'");
        return Main.OK;
      }
    }
  }

  private static String time(Instant t) {
    return t == null ? "-" : TIME.format(t);
  }
}
