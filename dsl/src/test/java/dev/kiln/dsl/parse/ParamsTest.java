package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.dsl.model.Location;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.ParamType;
import dev.kiln.dsl.model.Pipeline;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParamsTest {
  static final Pipeline PIPELINE =
      PipelineParser.parse(
              "x.yaml",
              """
      name: x
      params:
        data:         { type: string }
        min_accuracy: { type: number, default: 0.85 }
        epochs:       { type: integer, default: 10 }
        dry_run:      { type: boolean, default: false }
        food:         { type: string, default: pizza }
      steps:
        a: { run: echo }
      """)
          .pipeline();

  static Map<String, String> given(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  static ParamSpec spec(ParamType type) {
    return new ParamSpec("p", type, null, null, new Location("x.yaml", 3, 3));
  }

  @Test
  void bindConvertsEveryParamToItsTypeInDeclaredOrder() throws Exception {
    Map<String, Object> bound =
        Params.bind(
            PIPELINE,
            given("dry_run", "TRUE", "epochs", "3", "min_accuracy", "0.9", "data", "d.csv"));

    assertThat(bound)
        .containsExactly(
            Map.entry("data", "d.csv"),
            Map.entry("min_accuracy", 0.9),
            Map.entry("epochs", 3L),
            Map.entry("dry_run", true),
            Map.entry("food", "pizza"));
  }

  @Test
  void bindFallsBackToDefaults() throws Exception {
    Map<String, Object> bound = Params.bind(PIPELINE, given("data", "d.csv"));

    assertThat(bound)
        .containsEntry("min_accuracy", 0.85)
        .containsEntry("epochs", 10L)
        .containsEntry("dry_run", false);
  }

  @Test
  void bindReportsEveryProblemTogether() {
    assertThatThrownBy(
            () ->
                Params.bind(
                    PIPELINE,
                    given("min_accuracy", "abc", "foo", "1", "epochs", "2.5", "dry_run", "maybe")))
        .isInstanceOf(PipelineException.class)
        .satisfies(
            e ->
                assertThat(((PipelineException) e).problems())
                    .extracting(Problem::toString)
                    .containsExactly(
                        "x.yaml: unknown param 'foo' (pipeline 'x' declares: data, min_accuracy, epochs,"
                            + " dry_run, food) — did you mean 'food'?",
                        "x.yaml: missing required param 'data'",
                        "x.yaml: param 'min_accuracy': expected a number, got 'abc'",
                        "x.yaml: param 'epochs': expected an integer, got '2.5'",
                        "x.yaml: param 'dry_run': expected a boolean (true or false), got 'maybe'"))
        .satisfies(
            e ->
                assertThat(((PipelineException) e).problems())
                    .allSatisfy(p -> assertThat(p.location().line()).isZero()));
  }

  @Test
  void aPipelineWithoutParamsSaysSo() throws Exception {
    Pipeline none =
        PipelineParser.parse("n.yaml", "name: n\nsteps: { a: { run: echo } }\n").orThrow();

    assertThat(Params.bind(none, Map.of())).isEmpty();
    assertThatThrownBy(() -> Params.bind(none, given("x", "1")))
        .hasMessage("n.yaml: unknown param 'x' (pipeline 'n' declares no params)");
  }

  @Test
  void coerceAcceptsJsonValuesOfTheRightKind() throws Exception {
    ObjectMapper json = new ObjectMapper();

    assertThat(Params.coerce(spec(ParamType.INTEGER), 3)).isEqualTo(3L);
    assertThat(Params.coerce(spec(ParamType.INTEGER), 4.0)).isEqualTo(4L);
    assertThat(Params.coerce(spec(ParamType.INTEGER), "12")).isEqualTo(12L);
    assertThat(Params.coerce(spec(ParamType.INTEGER), BigInteger.TEN)).isEqualTo(10L);
    assertThat(Params.coerce(spec(ParamType.NUMBER), 1)).isEqualTo(1.0);
    assertThat(Params.coerce(spec(ParamType.NUMBER), new BigDecimal("0.25"))).isEqualTo(0.25);
    assertThat(Params.coerce(spec(ParamType.NUMBER), " 1e3 ")).isEqualTo(1000.0);
    assertThat(Params.coerce(spec(ParamType.BOOLEAN), "False")).isEqualTo(false);
    assertThat(Params.coerce(spec(ParamType.STRING), 42)).isEqualTo("42");
    assertThat(Params.coerce(spec(ParamType.STRING), 0.5)).isEqualTo("0.5");
    assertThat(Params.coerce(spec(ParamType.STRING), true)).isEqualTo("true");
    assertThat(Params.coerce(spec(ParamType.NUMBER), json.readTree("0.75"))).isEqualTo(0.75);
    assertThat(Params.coerce(spec(ParamType.STRING), json.readTree("\"s\""))).isEqualTo("s");
    assertThat(Params.coerce(spec(ParamType.INTEGER), json.readTree("7"))).isEqualTo(7L);
  }

  @Test
  void coerceRefusesValuesOfTheWrongKind() {
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.INTEGER), 2.5))
        .hasMessage("x.yaml: param 'p': expected an integer, got '2.5'");
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.INTEGER), "9223372036854775808"))
        .isInstanceOf(PipelineException.class);
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.NUMBER), "NaN"))
        .isInstanceOf(PipelineException.class);
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.NUMBER), "0x10"))
        .isInstanceOf(PipelineException.class);
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.BOOLEAN), 1))
        .hasMessage("x.yaml: param 'p': expected a boolean (true or false), got '1'");
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.STRING), List.of("a")))
        .hasMessage("x.yaml: param 'p': expected a string, got a list");
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.STRING), Map.of("a", 1)))
        .hasMessage("x.yaml: param 'p': expected a string, got a map");
    assertThatThrownBy(() -> Params.coerce(spec(ParamType.STRING), null))
        .hasMessage("x.yaml: param 'p': expected a string, got nothing");
  }
}
