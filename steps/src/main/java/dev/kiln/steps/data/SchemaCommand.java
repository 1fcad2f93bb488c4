package dev.kiln.steps.data;

import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln schema infer DATA}. */
@Command(
    name = "schema",
    mixinStandardHelpOptions = true,
    description = "Data set schemas for 'kiln validate-data' and data/validate.",
    subcommands = {SchemaCommand.Infer.class, CommandLine.HelpCommand.class})
final class SchemaCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "infer",
      mixinStandardHelpOptions = true,
      description = {
        "Write a starting schema for a CSV or Parquet data set: types, nulls,",
        "ranges, the values of columns with few, uniqueness. Exit 2 on bad input."
      })
  static final class Infer implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DATA", description = "the data set")
    Path data;

    @Option(
        names = {"-o", "--output"},
        paramLabel = "FILE",
        description = "write the schema here instead of to standard output")
    Path output;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      String yaml;
      try (Table d = Table.open(data)) {
        yaml = SchemaInference.infer(d);
      } catch (DataException e) {
        err.println("kiln: " + e.getMessage());
        err.flush();
        return 2;
      } catch (SQLException e) {
        err.println("kiln: " + data + ": " + e.getMessage().lines().findFirst().orElse(""));
        err.flush();
        return 2;
      }
      if (output == null) {
        spec.commandLine().getOut().print(yaml);
        spec.commandLine().getOut().flush();
        return 0;
      }
      try {
        Files.writeString(output, yaml, StandardCharsets.UTF_8);
      } catch (IOException e) {
        err.println("kiln: cannot write " + output + ": " + e.getMessage());
        err.flush();
        return 2;
      }
      return 0;
    }
  }
}
