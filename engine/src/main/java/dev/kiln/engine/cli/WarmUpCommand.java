package dev.kiln.engine.cli;

import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.EmbeddedServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Loads the classes the everyday commands need, so that the launcher can archive them for
 * class-data sharing ({@code -XX:ArchiveClassesAtExit}, docs/benchmarks.md "Commands"): every
 * command's help, a pipeline validated, and, when a store is up already (KILN_DB_URL or a running
 * embedded server; it never starts one), the read-only commands against it. Prints nothing.
 */
@Command(name = "warm-up", hidden = true, description = "Load the classes of everyday commands.")
final class WarmUpCommand implements Callable<Integer> {
  private static final String PIPELINE =
      """
      name: warm-up
      params:
        who: {type: string, default: world}
      steps:
        hello:
          run: echo hello ${{ params.who }}
        after:
          needs: [hello]
          run: "true"
      """;

  private static final List<List<String>> READS =
      List.of(
          List.of("runs"),
          List.of("runs", "show", "1"),
          List.of("logs", "1"),
          List.of("models", "list"),
          List.of("datasets"),
          List.of("lineage", "warm-up"),
          List.of("cache", "list"));

  @Override
  public Integer call() throws IOException {
    PrintStream out = System.out;
    PrintStream err = System.err;
    PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
    Path pipeline = Files.createTempFile("kiln-warm-up", ".yaml");
    try {
      System.setOut(nowhere);
      System.setErr(nowhere);
      CommandLine all = Main.commandLine(null);
      all.usage(nowhere);
      all.getSubcommands().values().forEach(c -> c.usage(nowhere));
      Files.writeString(pipeline, PIPELINE);
      Main.execute("validate", pipeline.toString());
      if (storeIsUp()) {
        READS.forEach(args -> Main.execute(args.toArray(String[]::new)));
      }
      return Main.OK;
    } finally {
      System.setOut(out);
      System.setErr(err);
      Files.deleteIfExists(pipeline);
    }
  }

  private static boolean storeIsUp() {
    KilnConfig config = KilnConfig.fromEnvironment();
    return config.dbUrl() != null || EmbeddedServer.running(config.home());
  }
}
