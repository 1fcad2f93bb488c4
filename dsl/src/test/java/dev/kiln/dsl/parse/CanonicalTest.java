package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The canonical form is defined as Jackson's sorted compact JSON; the fast writer must agree. */
class CanonicalTest {
  static final ObjectMapper JACKSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  static Stream<Path> fixtures() throws IOException {
    return Stream.concat(
            Files.list(Path.of("src/test/resources/valid")),
            Files.list(Path.of("src/test/resources/invalid")))
        .filter(p -> p.toString().endsWith(".yaml"))
        .sorted();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void matchesJacksonSortedJsonForEveryFixture(Path file) throws IOException {
    assertMatchesJackson(Files.readString(file), false);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a: \"quote \\\" backslash \\\\ tab \\t nl \\n cr \\r bs \\b ff \\f nul-free \\x01 \\x1f \\x7f é 😀 \\u2028\"",
        "n: [1, -2, 3.5, 1e300, 0.1, 12345678901234567890, .inf, -.inf, .nan, 0x1F, 0o17, ~, true, FALSE]",
        "z: 1\nA: 2\n\"10\": 3\n\"9\": 4\n_: 5\n",
        "nested: {b: [{d: 1, c: 2}], a: {y: null, x: ''}}",
      })
  void matchesJacksonForAwkwardValues(String yaml) throws IOException {
    assertMatchesJackson(yaml, true);
  }

  private static void assertMatchesJackson(String yaml, boolean mustLoad) throws IOException {
    Problems problems = new Problems("t.yaml");
    YNode root = YamlLoader.load(yaml, problems);
    if (root == null) {
      assertThat(mustLoad).as("loads: " + problems.sorted()).isFalse();
      return; // an invalid fixture that is not YAML at all: nothing to compare
    }
    assertThat(Canonical.json(root)).isEqualTo(JACKSON.writeValueAsString(Fields.plain(root)));
  }
}
