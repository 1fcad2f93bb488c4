package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Pipeline;
import java.util.List;

/** The outcome of parsing: a pipeline, or every problem found (never both). */
public record ParseResult(Pipeline pipeline, List<Problem> problems) {

  public ParseResult {
    problems = List.copyOf(problems);
    if (problems.isEmpty() == (pipeline == null)) {
      throw new IllegalArgumentException("a ParseResult holds either a pipeline or problems");
    }
  }

  static ParseResult of(Pipeline pipeline) {
    return new ParseResult(pipeline, List.of());
  }

  static ParseResult failed(List<Problem> problems) {
    return new ParseResult(null, problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }

  public Pipeline orThrow() throws PipelineException {
    if (!ok()) {
      throw new PipelineException(problems);
    }
    return pipeline;
  }
}
