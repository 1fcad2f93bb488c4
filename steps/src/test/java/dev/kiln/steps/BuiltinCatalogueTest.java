package dev.kiln.steps;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.parse.Catalogue;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.cli.Main;
import dev.kiln.engine.spi.BuiltinStep;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in steps' declared {@code with:} schemas: every built-in declares one, the example
 * pipelines keep to them, {@code kiln validate} checks them with suggestions, and docs/steps.md and
 * the JSON Schema are made from them (run with {@code -Dkiln.writeDocs=true} to rewrite
 * docs/steps.md after changing a spec).
 */
class BuiltinCatalogueTest {
  static final Path STEPS_MD = Path.of("../docs/steps.md");
  static final Path SCHEMA = Path.of("../docs/kiln-pipeline.schema.json");
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  static List<BuiltinSpec> specs() {
    // test/* steps are registered by this module's tests only (faults), not part of Kiln.
    return BuiltinStep.all().values().stream()
        .map(BuiltinStep::spec)
        .filter(s -> !s.name().startsWith("test/"))
        .toList();
  }

  @Test
  void everyBuiltinDeclaresItsWithKeys() {
    assertThat(specs())
        .isNotEmpty()
        .allSatisfy(
            s -> {
              assertThat(s.with()).as(s.name() + " declares its with: keys").isNotNull();
              assertThat(s.description()).as(s.name() + " has a description").isNotBlank();
            });
  }

  @Test
  void theExamplePipelinesKeepToTheDeclaredSchemas() throws Exception {
    Catalogue builtins = BuiltinStep.catalogue();
    List<Path> files;
    try (Stream<Path> all = Files.walk(Path.of("../pipelines"))) {
      files =
          all.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
              .filter(BuiltinCatalogueTest::isPipeline)
              .toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      ParseResult r = PipelineParser.parse(f, builtins);
      assertThat(r.problems()).as(f.toString()).isEmpty();
    }
  }

  private static boolean isPipeline(Path p) {
    try {
      String text = Files.readString(p);
      return text.contains("\nsteps:") || text.startsWith("steps:");
    } catch (Exception e) {
      return false;
    }
  }

  private record Out(int exit, String out, String err) {}

  private static Out kiln(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Main.execute(args);
      return new Out(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void validateNamesAMistypedBuiltinOrWithKeyAndSuggestsTheRightOne() throws Exception {
    Path p = dir.resolve("typos.yaml");
    Files.writeString(
        p,
        """
        name: typos
        steps:
          data: { uses: dataset/versoin, with: { name: d, path: x.csv } }
          train:
            uses: train/tribuo
            with: { dat: x.csv, targt: y, positive: "1", epoch: 5, seed: many }
          gate: { uses: model/gate, with: { metric: auc, min: high } }
          promote: { uses: model/promote, with: { name: m, alias: production } }
        """);
    Out r = kiln("validate", p.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err())
        .contains(
            ":3:17: step 'data': unknown built-in step 'dataset/versoin'; did you mean"
                + " 'dataset/version'?")
        .contains("train/tribuo: unknown key 'with.targt'; did you mean 'target'?")
        .contains("train/tribuo: unknown key 'with.epoch'; did you mean 'epochs'?")
        .contains("train/tribuo: 'with.seed' must be a whole number, got")
        .contains("train/tribuo: missing required key 'with.data'")
        .contains("model/gate: 'with.min' must be a number, got")
        .contains("model/promote: missing required key 'with.version'");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void expressionsAreAcceptedForAnyType() throws Exception {
    Path p = dir.resolve("ok.yaml");
    Files.writeString(
        p,
        """
        name: ok
        params: { epochs: { type: integer, default: 3 } }
        steps:
          train:
            uses: train/tribuo
            with: { data: x.csv, target: y, positive: 1, epochs: "${{ params.epochs }}" }
        """);
    Out r = kiln("validate", p.toString());
    assertThat(r.exit()).as(r.err()).isZero();
  }

  /** docs/steps.md as the declared specs make it. */
  static String stepsMarkdown() {
    StringBuilder md = new StringBuilder();
    md.append(
        """
        # Built-in steps

        Every built-in step (`uses: NAME`) with its `with:` keys and outputs. Generated from the
        schemas the steps declare (`BuiltinStep.spec()`) by `BuiltinCatalogueTest`, which fails
        when this page is stale (`mvn -pl steps -am test -Dtest=BuiltinCatalogueTest
        -Dkiln.writeDocs=true -Dsurefire.failIfNoSpecifiedTests=false` rewrites it).

        `kiln validate` and the start of every run check a pipeline against the same schemas: an
        unknown built-in or `with:` key is an error with a suggestion (`targt` -> `target`), a
        missing required key or a value of the wrong type too (an expression `${{ }}` fits any
        type). Outputs are read as `${{ steps.ID.outputs.NAME }}`. A step given bad input (a bad
        `with:`, a missing file) fails at once without spending its `retries`.

        Relative paths (type `path`) are relative to the folder the run was started from: the
        current directory of `kiln run`, the working directory of `kiln server` for the runs it
        starts ([dsl.md](dsl.md#paths) explains every path in one place).

        """);
    for (BuiltinSpec s : specs()) {
      md.append("## `").append(s.name()).append("`\n\n").append(s.description()).append("\n\n");
      if (s.with() != null && !s.with().isEmpty()) {
        md.append("| `with:` key | type | required | meaning |\n|---|---|---|---|\n");
        for (BuiltinSpec.WithKey k : s.with()) {
          md.append("| `")
              .append(k.name())
              .append("` | ")
              .append(k.type().name().toLowerCase(java.util.Locale.ROOT))
              .append(" | ")
              .append(k.required() ? "yes" : "")
              .append(" | ")
              .append(k.description().replace("|", "\\|"))
              .append(" |\n");
        }
        md.append("\n");
      }
      if (!s.outputs().isEmpty()) {
        md.append("| output | meaning |\n|---|---|\n");
        s.outputs()
            .forEach(
                (k, v) ->
                    md.append("| `")
                        .append(k)
                        .append("` | ")
                        .append(v.replace("|", "\\|"))
                        .append(" |\n"));
        md.append("\n");
      }
    }
    return md.toString().stripTrailing() + "\n";
  }

  @Test
  void docsStepsMdIsMadeFromTheDeclaredSchemas() throws Exception {
    String expected = stepsMarkdown();
    if (Boolean.getBoolean("kiln.writeDocs")) {
      Files.writeString(STEPS_MD, expected);
    }
    assertThat(Files.exists(STEPS_MD) ? Files.readString(STEPS_MD) : "")
        .as("docs/steps.md is stale: rerun this test with -Dkiln.writeDocs=true")
        .isEqualTo(expected);
  }

  /** The {@code with:} of a built-in as JSON Schema. */
  static ObjectNode withSchema(BuiltinSpec s) {
    ObjectNode o = JSON.createObjectNode();
    o.put("description", s.description());
    o.put("type", "object");
    ObjectNode props = o.putObject("properties");
    ArrayNode required = JSON.createArrayNode();
    for (BuiltinSpec.WithKey k : s.with()) {
      ObjectNode p = props.putObject(k.name());
      p.put("description", k.description());
      if (k.type().jsonType() != null) {
        // An expression (a string) fits any type.
        ArrayNode types = p.putArray("type");
        types.add(k.type().jsonType());
        if (!k.type().jsonType().equals("string")) {
          types.add("string");
        }
      }
      if (k.required()) {
        required.add(k.name());
      }
    }
    if (!required.isEmpty()) {
      o.set("required", required);
    }
    o.put("additionalProperties", false);
    return o;
  }

  @Test
  void theJsonSchemaListsTheBuiltinsAndTheirWith() throws Exception {
    JsonNode schema = JSON.readTree(SCHEMA.toFile());
    ObjectNode expected = JSON.createObjectNode();
    for (BuiltinSpec s : specs()) {
      expected.set(s.name(), withSchema(s));
    }
    if (Boolean.getBoolean("kiln.writeDocs")) {
      System.out.println("\"builtins\": " + JSON.writeValueAsString(expected));
    }
    ObjectNode listed = ((ObjectNode) schema.at("/$defs/builtins")).deepCopy();
    listed.remove("$comment");
    assertThat(listed)
        .as("$defs.builtins of docs/kiln-pipeline.schema.json (printed with -Dkiln.writeDocs)")
        .isEqualTo(expected);
    // Each built-in's with: is checked through an if/then on uses.
    JsonNode allOf = schema.at("/$defs/step/allOf");
    for (BuiltinSpec s : specs()) {
      assertThat(allOf.findValues("const").stream().map(JsonNode::asText))
          .as("an if/then for " + s.name() + " in $defs.step.allOf")
          .contains(s.name());
    }
  }
}
