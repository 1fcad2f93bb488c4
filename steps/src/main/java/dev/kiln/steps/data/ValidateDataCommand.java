package dev.kiln.steps.data;

import dev.kiln.engine.store.Json;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kiln validate-data DATA --schema S}. */
@Command(
    name = "validate-data",
    mixinStandardHelpOptions = true,
    description = {
      "Check a CSV or Parquet data set against a schema YAML (see docs/monitoring.md).",
      "Each failed check is reported with its count and up to five offending rows.",
      "Exit codes: 0 every check passed, 1 a check failed, 2 bad input."
    })
final class ValidateDataCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "DATA", description = "the data set (CSV or .parquet)")
  Path data;

  @Option(names = "--schema", paramLabel = "S", required = true, description = "the schema YAML")
  Path schema;

  @Option(names = "--json", description = "print the report as JSON")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ValidationReport report;
    try {
      Schema s = SchemaParser.parse(schema);
      try (Table d = Table.open(data)) {
        report = Validator.validate(d, s);
      }
    } catch (DataException e) {
      e.getMessage().lines().forEach(l -> err.println("kiln: " + l));
      err.flush();
      return 2;
    }
    out.print(json ? Json.write(report.toMap()) + "\n" : report.text());
    out.flush();
    return report.passed() ? 0 : 1;
  }
}
