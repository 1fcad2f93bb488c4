package dev.kiln.engine.cli;

import dev.kiln.dsl.parse.Catalogue;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.spi.BuiltinStep;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "validate",
    description = "Check pipeline files; every error as FILE:LINE:COL: message.",
    mixinStandardHelpOptions = true)
final class ValidateCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "FILE", description = "pipeline YAML files")
  List<Path> files;

  @Override
  public Integer call() {
    int status = Main.OK;
    Catalogue builtins = BuiltinStep.catalogue();
    for (Path f : files) {
      ParseResult r = PipelineParser.parse(f, builtins);
      if (r.ok()) {
        System.out.println(
            f + ": ok (" + r.pipeline().name() + ", " + r.pipeline().steps().size() + " steps)");
      } else {
        for (Problem p : r.problems()) {
          System.err.println(p);
        }
        status = Main.USAGE;
      }
    }
    return status;
  }
}
