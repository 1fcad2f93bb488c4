package dev.kiln.engine.cli;

import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.CommandProvider;
import dev.kiln.engine.util.LaunchMechanism;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kiln} command line. */
@Command(
    name = "kiln",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Kiln runs machine-learning pipelines written in YAML and tracks every run",
      "in PostgreSQL.",
      "",
      "Without KILN_DB_URL an embedded PostgreSQL is started in $KILN_HOME",
      "(default ~/.kiln) and left running for later commands; 'kiln db stop'",
      "stops it. Exit codes: 0 success, 1 the run failed, 2 bad input, 3 internal."
    })
public final class Main implements Runnable {
  /** Exit codes: 0 success, 1 the run failed, 2 bad input or configuration, 3 internal error. */
  public static final int OK = 0;

  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int INTERNAL = 3;

  /**
   * The engine's own commands, in the order {@code kiln --help} lists them. Not in the {@code
   * subcommands} attribute: picocli would build every command's model (reflection over some 80
   * classes) on each call, where one command needs one.
   */
  private static final List<Class<?>> COMMANDS =
      List.of(
          ValidateCommand.class,
          RunCommand.class,
          RunsCommand.class,
          LogsCommand.class,
          CancelCommand.class,
          RetryCommand.class,
          ApproveCommand.class,
          ApproveCommand.Reject.class,
          WorkerCommand.class,
          ServerCommand.class,
          BackfillCommand.class,
          DbCommand.class,
          ModelsCommand.class,
          DatasetsCommand.class,
          CacheCommand.class,
          ArtifactsCommand.class,
          GcCommand.class,
          LineageCommand.class,
          ReproduceCommand.class,
          TokensCommand.class,
          DaemonCommand.class,
          WarmUpCommand.class);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    // Steps are child processes: vfork where it is the plain, supported choice.
    LaunchMechanism.preferVfork();
    System.exit(execute(args));
  }

  public static int execute(String... args) {
    return execute(null, args);
  }

  /**
   * {@link #execute(String...)} with help and errors coloured as {@code ansi} says (kiln daemon: as
   * the caller's terminal would have them); null: picocli decides from this process's terminal.
   */
  static int execute(CommandLine.Help.Ansi ansi, String... args) {
    CommandLine cl = commandLine(args.length > 0 ? args[0] : null);
    if (ansi != null) {
      cl.setColorScheme(CommandLine.Help.defaultColorScheme(ansi));
    }
    cl.setExecutionExceptionHandler(
        (ex, line, parsed) -> {
          if (ex instanceof ConfigException
              || ex instanceof UserError
              || ex instanceof RegistryException) {
            line.getErr().println("kiln: " + ex.getMessage());
            return USAGE;
          }
          line.getErr().println("kiln: internal error: " + ex);
          ex.printStackTrace(line.getErr());
          return INTERNAL;
        });
    return cl.execute(args);
  }

  /**
   * The command tree for a call whose first argument is {@code first}: only that command's branch
   * when it names one, the whole tree otherwise ({@code kiln}, {@code --help}, {@code help}, a
   * misspelt command, which then gets picocli's suggestions).
   */
  static CommandLine commandLine(String first) {
    List<CommandProvider> providers = new ArrayList<>();
    ServiceLoader.load(CommandProvider.class).forEach(providers::add);
    List<Object> all = new ArrayList<>(COMMANDS);
    providers.forEach(p -> all.addAll(p.commands()));
    List<Object> chosen = all.stream().filter(c -> name(c).equals(first)).toList();
    CommandLine cl = new CommandLine(new Main());
    (chosen.isEmpty() ? all : chosen).forEach(cl::addSubcommand);
    cl.addSubcommand(CommandLine.HelpCommand.class);
    // Subcommands after every command, so a parent from any module (kiln bench) is there.
    for (CommandProvider p : providers) {
      p.subcommands()
          .forEach(
              (parent, commands) -> {
                CommandLine under = cl.getSubcommands().get(parent);
                if (under != null) { // absent when not chosen or its module is not on the path
                  commands.forEach(under::addSubcommand);
                }
              });
    }
    // Descriptions are written in lines of up to 90 characters (one array element per line):
    // at picocli's default width of 80 each such line would break in two.
    cl.setUsageHelpWidth(100);
    return cl;
  }

  /** Read-only commands kiln daemon may answer, by their names from the top (docs/cli.md). */
  private static final Set<List<String>> READ_ONLY =
      Set.of(
          List.of(),
          List.of("help"),
          List.of("validate"),
          List.of("runs"),
          List.of("runs", "show"),
          List.of("runs", "compare"),
          List.of("logs"),
          List.of("models"),
          List.of("models", "list"),
          List.of("models", "show"),
          List.of("models", "history"),
          List.of("datasets"),
          List.of("datasets", "list"),
          List.of("datasets", "show"),
          List.of("lineage"));

  /**
   * Whether {@code args} call a command that only reads and ends by itself ({@code READ_ONLY}, or
   * any command's help), parsed without error: only those may be answered by kiln daemon. {@code
   * logs --follow} waits, so it is not one.
   */
  static boolean readOnly(List<String> args) {
    CommandLine.ParseResult parsed;
    try {
      parsed =
          commandLine(args.isEmpty() ? null : args.get(0)).parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      return false; // the direct path reports it
    }
    List<String> names = new ArrayList<>();
    boolean help = parsed.isUsageHelpRequested() || parsed.isVersionHelpRequested();
    for (CommandLine.ParseResult p = parsed.subcommand(); p != null; p = p.subcommand()) {
      names.add(p.commandSpec().name());
      help |= p.isUsageHelpRequested() || p.isVersionHelpRequested();
      if (p.hasMatchedOption("--follow")) {
        return help;
      }
    }
    return help || READ_ONLY.contains(names);
  }

  /** A command's name from its annotation, without building its picocli model. */
  private static String name(Object command) {
    if (command instanceof CommandLine line) {
      return line.getCommandName();
    }
    Class<?> type = command instanceof Class<?> c ? c : command.getClass();
    Command annotation = type.getAnnotation(Command.class);
    return annotation == null ? "" : annotation.name();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"kiln " + (v == null ? "dev" : v)};
    }
  }
}
