package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each {@code invalid/NAME.yaml} must produce exactly the lines of {@code invalid/NAME.errors}:
 * every problem, in order, worded as users will read it.
 */
class InvalidPipelinesTest {
  static final Path DIR = Path.of("src/test/resources/invalid");

  static Stream<String> fixtures() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .sorted()
          .toList()
          .stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void reportsEveryExpectedProblemAndNothingElse(String name) throws IOException {
    String text = Files.readString(DIR.resolve(name), StandardCharsets.UTF_8);
    Path errors = DIR.resolve(name.replaceAll("\\.yaml$", ".errors"));
    assertThat(errors).as("expected problems for " + name).exists();
    List<String> expected =
        Files.readAllLines(errors, StandardCharsets.UTF_8).stream()
            .filter(line -> !line.isBlank())
            .toList();

    ParseResult result = PipelineParser.parse(name, text);

    assertThat(result.ok()).isFalse();
    assertThat(result.pipeline()).isNull();
    assertThat(result.problems()).extracting(Problem::toString).containsExactlyElementsOf(expected);
  }
}
