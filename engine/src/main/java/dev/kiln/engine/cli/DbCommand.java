package dev.kiln.engine.cli;

import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.EmbeddedServer;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "db",
    mixinStandardHelpOptions = true,
    description = "The embedded PostgreSQL in $KILN_HOME.",
    subcommands = {DbCommand.Stop.class, DbCommand.Url.class})
final class DbCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(
      name = "stop",
      mixinStandardHelpOptions = true,
      description = {
        "Stop the embedded PostgreSQL.",
        "Refused (exit 2) while a kiln server or kiln worker uses it, unless --force."
      })
  static final class Stop implements Callable<Integer> {
    @Option(
        names = "--force",
        description = "stop it even while a kiln server or kiln worker uses it")
    boolean force;

    @Override
    public Integer call() throws Exception {
      KilnConfig c = KilnConfig.fromEnvironment();
      List<StoreUsers.User> users = StoreUsers.live(c.home());
      if (!users.isEmpty() && !force) {
        throw new UserError(
            "the embedded PostgreSQL in "
                + c.home()
                + " is in use by "
                + users.stream().map(u -> u.what() + " (pid " + u.pid() + ")").toList()
                + ": stop them first, or pass --force");
      }
      System.out.println(
          EmbeddedServer.stop(c.home())
              ? "stopped the embedded PostgreSQL in " + c.home()
              : "no embedded PostgreSQL runs in " + c.home());
      return Main.OK;
    }
  }

  @Command(
      name = "url",
      mixinStandardHelpOptions = true,
      description = {
        "Start the embedded PostgreSQL if needed and print its JDBC URL, with user and password",
        "(from $KILN_HOME/db-password): usable as KILN_DB_URL or by any JDBC tool."
      })
  static final class Url implements Callable<Integer> {
    @Override
    public Integer call() {
      KilnConfig c = KilnConfig.fromEnvironment();
      if (c.dbUrl() != null) {
        System.out.println(c.dbUrl());
      } else {
        System.out.println(EmbeddedServer.ensureRunning(c.home()).jdbcUrlWithCredentials());
      }
      return Main.OK;
    }
  }
}
