package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.ParamType;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.RetryPolicy;
import dev.kiln.dsl.model.Step;
import dev.kiln.dsl.model.Trigger;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineParserTest {
  static final Path VALID = Path.of("src/test/resources/valid");

  static Pipeline valid(String name) throws Exception {
    return PipelineParser.parse(VALID.resolve(name)).orThrow();
  }

  static ParseResult parse(String yaml) {
    return PipelineParser.parse("p.yaml", yaml);
  }

  static List<String> problems(String yaml) {
    return parse(yaml).problems().stream().map(Problem::toString).toList();
  }

  @Test
  void keepsTheExecutorAStepRequiresAndNoneWhereItSaysNothing() throws Exception {
    Pipeline p = valid("executors.yaml");

    assertThat(p.steps().get("in-container").executor()).isEqualTo("docker");
    assertThat(p.steps().get("in-a-pod").executor()).isEqualTo("kubernetes");
    assertThat(p.steps().get("on-the-worker").executor()).isEqualTo("process");
    assertThat(p.steps().get("anywhere").executor()).isNull();
  }

  @Test
  void bindsTheDesignExampleIntoTheModel() throws Exception {
    Pipeline p = valid("churn-retrain.yaml");

    assertThat(p.name()).isEqualTo("churn-retrain");
    assertThat(p.description()).isEqualTo("Retrain the churn model when new data lands");
    assertThat(p.params()).containsOnlyKeys("data", "min_accuracy");
    assertThat(p.params().get("min_accuracy").type()).isEqualTo(ParamType.NUMBER);
    assertThat(p.params().get("min_accuracy").defaultValue()).isEqualTo(0.85);
    assertThat(p.params().get("data").defaultValue()).isEqualTo("pipelines/churn/data/current.csv");
    assertThat(p.triggers()).hasSize(3);
    assertThat(p.triggers().get(0))
        .isEqualTo(
            new Trigger.Cron("0 3 * * *", "Europe/Berlin", null, p.triggers().get(0).location()));
    assertThat(((Trigger.Webhook) p.triggers().get(1)).secretEnv()).isEqualTo("CHURN_HOOK_SECRET");
    assertThat(((Trigger.Files) p.triggers().get(2)).glob()).isEqualTo("*.csv");
    assertThat(p.defaults().image()).isEqualTo("kiln/python-ml:1");
    assertThat(p.defaults().retries()).isEqualTo(new RetryPolicy(2, Duration.ofSeconds(5)));
    assertThat(p.defaults().timeout()).isEqualTo(Duration.ofMinutes(30));
    assertThat(p.steps().keySet())
        .containsExactly("snapshot", "validate", "train", "gate", "register");

    Step train = p.step("train");
    assertThat(train.needs()).containsExactly("validate");
    assertThat(train.action())
        .isEqualTo(new Action.Run("python train.py --data \"${{ steps.snapshot.outputs.path }}\""));
    assertThat(train.env()).containsExactly(Map.entry("SEED", "42"));
    assertThat(train.resources().cpus()).isEqualTo(1.0);
    assertThat(train.resources().memoryBytes()).isEqualTo(2L * 1024 * 1024 * 1024);
    assertThat(train.location().line()).isEqualTo(24);
    assertThat(train.location().column()).isEqualTo(3);

    Step register = p.step("register");
    assertThat(register.condition()).isEqualTo("${{ steps.gate.outputs.passed }}");
    assertThat(register.action()).isInstanceOf(Action.Uses.class);
    Action.Uses uses = (Action.Uses) register.action();
    assertThat(uses.name()).isEqualTo("model/register");
    assertThat(uses.with())
        .containsEntry("artifact", "${{ steps.train.artifacts.model }}")
        .containsEntry("alias", "production");
    assertThat(p.source().text()).startsWith("# The example pipeline");
  }

  @Test
  void bindsEveryKeyOfTheFullFixture() throws Exception {
    Pipeline p = valid("all-features.yaml");

    assertThat(p.params().get("epochs").defaultValue()).isEqualTo(10L);
    assertThat(p.params().get("threshold").defaultValue()).isEqualTo(1.0);
    assertThat(p.params().get("dry_run").defaultValue()).isEqualTo(false);
    assertThat(p.params().get("label").required()).isTrue();
    assertThat(p.params().get("data").description()).isEqualTo("input file");
    Trigger.Cron cron = (Trigger.Cron) p.triggers().get(0);
    // all-features.yaml spells it 'latest', the alias of 'last'.
    assertThat(cron.catchup()).isEqualTo("last");
    Trigger.Webhook hook = (Trigger.Webhook) p.triggers().get(1);
    assertThat(hook.path()).isEqualTo("retrain_now");
    assertThat(hook.tokenEnv()).isEqualTo("HOOK_TOKEN");
    assertThat(hook.params())
        .containsExactly(
            Map.entry("data", "${{ body.file.path }}"), Map.entry("label", "hook-${{ body.id }}"));
    assertThat(hook.requireTimestamp()).isFalse();
    Trigger.Webhook signed = (Trigger.Webhook) p.triggers().get(3);
    assertThat(signed.secretEnv()).isEqualTo("HOOK_SECRET");
    assertThat(signed.requireTimestamp()).isTrue();
    Trigger.Webhook open = (Trigger.Webhook) p.triggers().get(4);
    assertThat(open.secretEnv()).isNull();
    assertThat(open.tokenEnv()).isNull();
    assertThat(p.defaults().retries()).isEqualTo(new RetryPolicy(1, RetryPolicy.NONE.backoff()));
    assertThat(p.defaults().timeout()).isEqualTo(Duration.ofMinutes(45));
    assertThat(p.defaults().queue()).isEqualTo("cpu");
    assertThat(p.defaults().env()).containsEntry("RUN_ID", "${{ run.id }}");

    Step fetch = p.step("fetch");
    assertThat(fetch.image()).as("merged from the x-common anchor").isEqualTo("alpine:3");
    assertThat(fetch.env())
        .as("YAML 1.2: yes and on stay strings")
        .containsExactly(
            Map.entry("MODE", "fast"), Map.entry("FLAG", "yes"), Map.entry("ON", "on"));
    assertThat(((Action.Run) fetch.action()).command())
        .startsWith("set -e\ncurl")
        .endsWith("\"$KILN_OUTPUTS\"\n");
    assertThat(fetch.retries()).isEqualTo(new RetryPolicy(3, Duration.ofMillis(500)));
    assertThat(fetch.timeout()).isEqualTo(Duration.ofMinutes(90));
    assertThat(fetch.cache()).isTrue();

    Step train = p.step("train");
    assertThat(train.needs()).containsExactly("fetch");
    assertThat(train.condition())
        .isEqualTo("params.dry_run == false && steps.fetch.outputs.rows > 0");
    assertThat(train.matrix().keySet()).containsExactly("lr", "seed");
    assertThat(train.matrix().get("lr")).containsExactly(0.1, 0.01);
    assertThat(train.matrix().get("seed")).containsExactly(1L, 2L);
    assertThat(train.continueOnError()).isTrue();
    assertThat(train.queue()).isEqualTo("gpu.large");
    assertThat(train.env()).containsEntry("THREADS", "4").containsEntry("DEBUG", "false");
    assertThat(train.resources().cpus()).isEqualTo(2.5);
    assertThat(train.resources().memoryBytes()).isEqualTo(4L << 30);
    assertThat(train.retriesOr(p.defaults())).isEqualTo(p.defaults().retries());
    assertThat(train.envOr(p.defaults()).keySet())
        .containsExactly("RUN_ID", "LEVEL", "API_KEY", "THREADS", "DEBUG");
    assertThat(train.queueOr(p.defaults())).isEqualTo("gpu.large");
    assertThat(p.step("evaluate").queueOr(p.defaults())).isEqualTo("cpu");

    Action.Uses evaluate = (Action.Uses) p.step("evaluate").action();
    assertThat(evaluate.with().get("thresholds")).isEqualTo(Map.of("accuracy", 0.9, "auc", 0.8));
    assertThat(evaluate.with().get("columns")).isEqualTo(List.of("age", "${{ params.label }}"));
    assertThat(evaluate.with().get("strict")).isEqualTo(true);
    assertThat(p.step("notify").needs()).containsExactly("evaluate", "fetch");
  }

  @Test
  void explicitKeysWinOverMergedAnchors() throws Exception {
    Pipeline p =
        parse(
                """
        name: merge
        x-base: &base { image: alpine, timeout: 5m }
        steps:
          a:
            <<: *base
            image: python
            run: echo a
        """)
            .orThrow();

    assertThat(p.step("a").image()).isEqualTo("python");
    assertThat(p.step("a").timeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void reportsEveryProblemAtOnceSortedByLineThenColumn() {
    List<Problem> found =
        parse(
                """
        name: Bad_Name
        steps:
          b:
            needs: [nope]
            run: echo ${{ params.x }}
            timeout: soon
          a:
            need: b
        """)
            .problems();

    assertThat(found)
        .extracting(Problem::toString)
        .containsExactly(
            "p.yaml:1:7: invalid pipeline name 'Bad_Name': use lowercase letters, digits and '-', starting with a letter or digit",
            "p.yaml:4:13: needs unknown step 'nope'",
            "p.yaml:5:19: unknown param 'x' (the pipeline declares no params)",
            "p.yaml:6:14: 'timeout' must be a duration like 30s, 5m, 1h30m, 500ms or PT5M, got 'soon'",
            "p.yaml:7:3: step 'a' needs either 'run' or 'uses'",
            "p.yaml:8:5: unknown key 'need' — did you mean 'needs'?");
  }

  @Test
  void problemsOnTheSameLineAreOrderedByColumn() {
    assertThat(
            problems(
                """
        name: cols
        steps:
          a: { run: "${{ params.b }} ${{ params.a }}", timeout: x }
        """))
        .containsExactly(
            "p.yaml:3:18: unknown param 'b' (the pipeline declares no params)",
            "p.yaml:3:34: unknown param 'a' (the pipeline declares no params)",
            "p.yaml:3:57: 'timeout' must be a duration like 30s, 5m, 1h30m, 500ms or PT5M, got 'x'");
  }

  @Test
  void duplicateKeysAreReportedAtTheSecondWithTheLineOfTheFirst() {
    assertThat(
            problems(
                """
        name: dup
        steps:
          a:
            run: echo one
            env: { X: 1, X: 2 }
            run: echo two
        """))
        .containsExactly(
            "p.yaml:5:18: duplicate key 'X' (first defined at line 5)",
            "p.yaml:6:5: duplicate key 'run' (first defined at line 4)");
  }

  @Test
  void cyclesArePrintedOnceEach() {
    assertThat(
            problems(
                """
        name: cyc
        steps:
          a: { needs: [b], run: echo }
          b: { needs: [c], run: echo }
          c: { needs: [a], run: echo }
        """))
        .containsExactly("p.yaml:3:16: cycle: a -> b -> c -> a");
  }

  @Test
  void aStepMayReadAnyTransitiveNeedButNotASibling() {
    assertThat(
            parse(
                    """
        name: reach
        steps:
          a: { run: echo }
          b: { needs: a, run: echo }
          c: { needs: b, run: "echo ${{ steps.a.outputs.x }} ${{ steps.b.status }}" }
        """)
                .ok())
        .isTrue();
    assertThat(
            problems(
                """
        name: reach
        steps:
          a: { run: echo }
          b: { needs: a, run: echo }
          c: { needs: a, run: "echo ${{ steps.b.outputs.x }}" }
        """))
        .containsExactly(
            "p.yaml:5:33: step 'c' reads 'steps.b.outputs.x' but does not need 'b' (add it to 'needs')");
  }

  @Test
  void farReadsAreCheckedAcrossManyTargets() {
    // More than 64 distinct read steps, so reachability runs in several batches.
    StringBuilder yaml =
        new StringBuilder(
            "name: far\nsteps:\n  s0: { run: echo }\n  s1: { needs: s0, run: echo }\n");
    for (int i = 2; i < 300; i++) {
      yaml.append("  s")
          .append(i)
          .append(": { needs: s")
          .append(i - 1)
          .append(", run: 'echo ${{ steps.s0.status }} ${{ steps.s")
          .append(i / 2)
          .append(".outputs.x }}' }\n");
    }
    yaml.append(
        "  side: { needs: s0, run: 'echo ${{ steps.s299.outputs.x }} ${{ steps.s150.status }}' }\n");

    assertThat(problems(yaml.toString()))
        .containsExactly(
            "p.yaml:303:37: step 'side' reads 'steps.s299.outputs.x' but does not need 's299' (add it to 'needs')",
            "p.yaml:303:65: step 'side' reads 'steps.s150.status' but does not need 's150' (add it to 'needs')");
  }

  @Test
  void expressionErrorsPointAtTheColumnInsideTheString() {
    assertThat(
            problems(
                """
        name: col
        steps:
          a:
            run: 'echo ${{ 1 == }} done'
        """))
        .containsExactly("p.yaml:4:25: invalid expression: expected a value after '=='");
  }

  @Test
  void anAliasBombFailsWithAProblem() {
    StringBuilder yaml =
        new StringBuilder(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (char c = 'b'; c <= 'i'; c++) {
      char prev = (char) (c - 1);
      yaml.append(c).append(": &").append(c).append(" [");
      for (int i = 0; i < 9; i++) {
        yaml.append(i == 0 ? "" : ",").append('*').append(prev);
      }
      yaml.append("]\n");
    }

    List<String> found = problems(yaml.toString());

    assertThat(found)
        .containsExactly(
            "p.yaml:7:8: the document has more than 1000000 YAML nodes, counting each alias as a copy");
  }

  @Test
  void tooManyAliasesFailInTheYamlParser() {
    StringBuilder yaml = new StringBuilder("x: &x [1]\ny: [");
    for (int i = 0; i < 200; i++) {
      yaml.append(i == 0 ? "" : ",").append("*x");
    }
    yaml.append("]\n");

    List<String> found = problems(yaml.toString());

    assertThat(found)
        .containsExactly(
            "p.yaml:2:305: too many aliases (more than 100 references to lists or maps)");
  }

  @Test
  void deepNestingFailsWithAProblem() {
    assertThat(problems("a: " + "[".repeat(10_000)))
        .containsExactly("p.yaml:1:67: the document nests deeper than 64 levels");
    assertThat(problems("a: " + "{b: ".repeat(10_000)))
        .containsExactly("p.yaml:1:256: the document nests deeper than 64 levels");
  }

  @Test
  void aRecursiveAliasFailsWithAProblem() {
    assertThat(problems("name: r\nsteps: &s { a: *s }\n"))
        .containsExactly("p.yaml:2:16: invalid YAML: alias '*s' refers to a node that contains it");
  }

  @Test
  void aTwentyMegabyteFileIsRefusedBeforeParsing(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Path big = dir.resolve("big.yaml");
    byte[] line = "# padding padding padding padding padding padding padding padding\n".getBytes();
    try (var out = Files.newOutputStream(big)) {
      for (int written = 0; written < 20 * 1024 * 1024; written += line.length) {
        out.write(line);
      }
    }

    ParseResult result = PipelineParser.parse(big);

    assertThat(result.problems())
        .singleElement()
        .asString()
        .isEqualTo(big + ": file too large (" + Files.size(big) + " bytes); the limit is 2 MiB");
    assertThat(problems("#".repeat(3 * 1024 * 1024)))
        .singleElement()
        .asString()
        .startsWith("p.yaml: file too large");
  }

  @Test
  void binaryAndNonUtf8FilesAreRefused(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Path binary =
        Files.write(dir.resolve("model.yaml"), new byte[] {'n', 'a', 0, 1, 2, (byte) 0xff});
    Path latin1 =
        Files.write(dir.resolve("latin1.yaml"), "name: caf\u00e9\n".getBytes("ISO-8859-1"));

    assertThat(PipelineParser.parse(binary).problems())
        .singleElement()
        .asString()
        .isEqualTo(binary + ": binary file (contains NUL bytes); a pipeline is YAML text in UTF-8");
    assertThat(PipelineParser.parse(latin1).problems())
        .singleElement()
        .asString()
        .isEqualTo(latin1 + ": not UTF-8 text (a binary file?); a pipeline is YAML text in UTF-8");
    assertThat(problems("name: a\0b")).singleElement().asString().startsWith("p.yaml: binary file");
  }

  @Test
  void emptyFilesAreAProblemNotAnException(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Path empty = Files.write(dir.resolve("empty.yaml"), new byte[0]);

    assertThat(PipelineParser.parse(empty).problems())
        .singleElement()
        .asString()
        .isEqualTo(empty + ": empty file: a pipeline needs at least 'name' and 'steps'");
    assertThat(problems("  \n\n"))
        .containsExactly("p.yaml: empty file: a pipeline needs at least 'name' and 'steps'");
    assertThat(problems("# just a comment\n"))
        .containsExactly(
            "p.yaml: empty file (only comments): a pipeline needs at least 'name' and 'steps'");
  }

  @Test
  void missingFilesAndDirectoriesAreProblems(@org.junit.jupiter.api.io.TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");

    assertThat(PipelineParser.parse(missing).problems())
        .singleElement()
        .asString()
        .isEqualTo(missing + ": no such file");
    assertThat(PipelineParser.parse(dir).problems())
        .singleElement()
        .asString()
        .isEqualTo(dir + ": not a file but a directory");
  }

  @Test
  void aByteOrderMarkIsIgnored() {
    assertThat(parse("\uFEFFname: bom\nsteps:\n  a: { run: echo }\n").ok()).isTrue();
  }

  @Test
  void aSecondDocumentIsAProblem() {
    assertThat(problems("name: a\nsteps: { a: { run: echo } }\n---\nname: b\n"))
        .singleElement()
        .asString()
        .startsWith("p.yaml:3:1: invalid YAML");
  }

  @Test
  void aTenThousandStepChainIsValid() throws Exception {
    int n = 10_000;
    StringBuilder yaml = new StringBuilder("name: chain\nsteps:\n");
    // Written last step first, so file order is the reverse of the run order.
    for (int i = n - 1; i >= 0; i--) {
      yaml.append("  s").append(i).append(":\n");
      if (i > 0) {
        yaml.append("    needs: [s").append(i - 1).append("]\n");
      }
      String reads = i > 1 ? " ${{ steps.s" + (i - 2) + ".outputs.x }}" : "";
      yaml.append("    run: echo ").append(i).append(reads).append('\n');
    }

    Pipeline p = parse(yaml.toString()).orThrow();
    dev.kiln.dsl.dag.Dag dag = dev.kiln.dsl.dag.Dag.of(p);

    assertThat(p.steps()).hasSize(n);
    assertThat(dag.roots()).containsExactly("s0");
    assertThat(dag.order()).hasSize(n);
    for (int i = 0; i < n; i++) {
      assertThat(dag.order().get(i)).isEqualTo("s" + i);
    }
    assertThat(dag.ancestors("s" + (n - 1))).hasSize(n - 1);
  }

  @Test
  void theVersionIgnoresCommentsFormattingQuotingAndKeyOrder() throws Exception {
    String block =
        """
        # a comment
        name: v
        params:
          n: { type: integer, default: 3 }
        steps:
          a:
            run: echo a
            env: { B: "2", A: x }
          b:
            needs: [a]
            run: echo b
        """;
    String reformatted =
        """
        steps:
          b: {run: "echo b", needs: ["a"]}
          a:
            env:
              A: 'x'
              B: "2"
            run: >-
              echo a
        params: {n: {default: 3, type: integer}}
        name: "v"   # trailing comment
        """;
    String changed = block.replace("default: 3", "default: 4");

    String version = parse(block).orThrow().source().version();

    assertThat(version).matches("[0-9a-f]{64}");
    assertThat(parse(reformatted).orThrow().source().version()).isEqualTo(version);
    assertThat(parse(changed).orThrow().source().version()).isNotEqualTo(version);
    assertThat(parse(block.replace("B: \"2\"", "B: 2")).orThrow().source().version())
        .as("a number is not the string it prints as")
        .isNotEqualTo(version);
  }

  @Test
  void theVersionIsTheSha256OfSortedCompactJson() throws Exception {
    String yaml = "steps: {a: {run: x}}\nname: h\n";
    String json = "{\"name\":\"h\",\"steps\":{\"a\":{\"run\":\"x\"}}}";
    byte[] digest =
        java.security.MessageDigest.getInstance("SHA-256")
            .digest(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));

    assertThat(parse(yaml).orThrow().source().version())
        .isEqualTo(java.util.HexFormat.of().formatHex(digest));
  }

  @Test
  void orThrowCarriesEveryProblemInItsMessage() {
    ParseResult result = parse("name: X\nsteps: {}\n");

    assertThat(result.ok()).isFalse();
    assertThat(result.pipeline()).isNull();
    assertThatThrownBy(result::orThrow)
        .isInstanceOf(PipelineException.class)
        .hasMessage(
            "p.yaml:1:7: invalid pipeline name 'X': use lowercase letters, digits and '-', "
                + "starting with a letter or digit\np.yaml:2:8: 'steps' is empty: add at least one step")
        .satisfies(e -> assertThat(((PipelineException) e).problems()).hasSize(2));
  }

  @Test
  void aProblemWithoutALineIsPrintedWithTheFileOnly() {
    assertThat(new Problem(new dev.kiln.dsl.model.Location("f.yaml", 3, 7), "m"))
        .hasToString("f.yaml:3:7: m");
    assertThat(Problem.ofFile("f.yaml", "m")).hasToString("f.yaml: m");
  }

  @Test
  void onYesAndNoAreStringsNotBooleans() {
    assertThat(problems("name: y\nsteps:\n  a: { run: echo, cache: yes }\n"))
        .containsExactly("p.yaml:3:26: 'cache' must be true or false, got 'yes'");
  }

  @Test
  void extensionKeysAtTheTopAreIgnored() {
    assertThat(parse("name: x\nx-anything: [1, 2]\nsteps:\n  a: { run: echo }\n").ok()).isTrue();
  }
}
