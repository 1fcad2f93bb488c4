package dev.kiln.engine.cli;

import dev.kiln.dsl.parse.Catalogue;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.config.Caller;
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
      // Read where the caller is (kiln daemon: its folder), reported as typed.
      ParseResult r = PipelineParser.parse(Caller.resolve(f), f.toString(), builtins);
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
