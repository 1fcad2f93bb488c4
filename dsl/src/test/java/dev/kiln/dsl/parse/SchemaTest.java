package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The published JSON Schema (docs/kiln-pipeline.schema.json) must accept every valid pipeline: the
 * fixtures here and the example pipelines under pipelines/, which must also pass the parser.
 */
class SchemaTest {
  static final Path SCHEMA = Path.of("../docs/kiln-pipeline.schema.json");
  static final Path PIPELINES = Path.of("../pipelines");
  static final Path VALID = Path.of("src/test/resources/valid");
  static final Path INVALID = Path.of("src/test/resources/invalid");
  static final ObjectMapper JSON = new ObjectMapper();
  static final JsonSchema schema = load();

  static JsonSchema load() {
    try (InputStream in = Files.newInputStream(SCHEMA)) {
      return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + SCHEMA.toAbsolutePath(), e);
    }
  }

  static Stream<Path> validPipelines() throws IOException {
    Stream<Path> fixtures = Files.list(VALID).filter(SchemaTest::isYaml);
    if (!Files.isDirectory(PIPELINES)) {
      return fixtures.sorted();
    }
    // pipelines/ also holds data files (a data/validate schema, a feature view...): only
    // documents with steps are pipelines.
    Stream<Path> examples =
        Files.walk(PIPELINES).filter(SchemaTest::isYaml).filter(SchemaTest::hasSteps);
    return Stream.concat(fixtures, examples).sorted();
  }

  static boolean isYaml(Path p) {
    String name = p.getFileName().toString();
    return Files.isRegularFile(p) && (name.endsWith(".yaml") || name.endsWith(".yml"));
  }

  static boolean hasSteps(Path p) {
    try {
      YNode root = YamlLoader.load(Files.readString(p), new Problems(p.toString()));
      return root instanceof YNode.Mapping m && m.has("steps");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonNode json(Path file) throws IOException {
    Problems problems = new Problems(file.toString());
    YNode root = YamlLoader.load(Files.readString(file), problems);
    assertThat(problems.sorted()).as("YAML of " + file).isEmpty();
    return JSON.valueToTree(Fields.plain(root));
  }

  @Test
  void theSchemaIsValidJsonSchema() throws IOException {
    JsonSchema meta =
        JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(java.net.URI.create("https://json-schema.org/draft/2020-12/schema"));
    assertThat(meta.validate(JSON.readTree(SCHEMA.toFile()))).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validPipelines")
  void everyValidPipelineMatchesTheSchemaAndParses(Path file) throws IOException {
    Set<ValidationMessage> errors = schema.validate(json(file));
    assertThat(errors).as("schema errors in " + file).isEmpty();

    ParseResult result = PipelineParser.parse(file);
    assertThat(result.problems()).as("parser problems in " + file).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "unknown-keys.yaml",
        "missing-steps.yaml",
        "empty-steps.yaml",
        "bad-names.yaml",
        "run-uses.yaml",
        "units.yaml",
        "params.yaml",
        "retries.yaml",
        "triggers.yaml",
        "triggers-not-list.yaml",
        "matrix.yaml",
        "types.yaml",
        "root-list.yaml"
      })
  void theSchemaAlsoRejectsWhatItCanSee(String fixture) throws IOException {
    assertThat(schema.validate(json(INVALID.resolve(fixture)))).isNotEmpty();
  }

  @Test
  void theSchemaAllowsEveryKeyTheParserAllows() throws IOException {
    JsonNode root = JSON.readTree(SCHEMA.toFile());
    assertThat(fieldNames(root.at("/properties")))
        .containsExactlyInAnyOrderElementsOf(PipelineBinder.KEYS);
    assertThat(fieldNames(root.at("/$defs/step/properties")))
        .containsExactlyInAnyOrderElementsOf(StepBinder.KEYS);
    assertThat(fieldNames(root.at("/$defs/defaults/properties")))
        .containsExactlyInAnyOrderElementsOf(PipelineBinder.DEFAULTS_KEYS);
    assertThat(fieldNames(root.at("/$defs/param/properties")))
        .containsExactlyInAnyOrderElementsOf(ParamBinder.KEYS);
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
