package dev.kiln.dsl.parse;

import java.util.List;
import java.util.stream.Collectors;

/** A pipeline, or the parameters given to it, had problems; all of them are listed. */
public final class PipelineException extends Exception {
  private static final long serialVersionUID = 1L;
  private final List<Problem> problems;

  public PipelineException(List<Problem> problems) {
    super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a PipelineException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }
}
