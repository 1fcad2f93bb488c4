package dev.kiln.dsl.expr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExpressionTest {
  static final Map<String, Object> DATA = new LinkedHashMap<>();

  static {
    Map<String, Object> outputs = new LinkedHashMap<>();
    outputs.put("accuracy", "0.91");
    outputs.put("passed", "true");
    outputs.put("count", "10");
    outputs.put("empty", "");
    outputs.put("nothing", null);
    DATA.put("params", Map.of("min", 0.9, "n", 3L, "name", "churn", "on", true, "zero", 0L));
    DATA.put("steps", Map.of("train-1", Map.of("outputs", outputs, "status", "succeeded")));
    DATA.put("run", Map.of("id", "r-1", "trigger", "cron"));
  }

  static Object eval(String expr) throws Exception {
    return Condition.parse(expr).expr().eval(Resolver.of(DATA));
  }

  static boolean test(String expr) throws Exception {
    return Condition.parse(expr).test(Resolver.of(DATA));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiterString = " => ",
      quoteCharacter = '`',
      value = {
        "true || false && false => true",
        "(true || false) && false => false",
        "!false == true => true",
        "!(1 == 1) => false",
        "!!true => true",
        "1 < 2 == true => true",
        "false || 1 > 2 || 'a' < 'b' => true",
        "1 == 1 && 2 == 2 && 3 != 3 => false",
      })
  void operatorsBindByPrecedence(String expr, boolean expected) throws Exception {
    assertThat(eval(expr)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiterString = " => ",
      quoteCharacter = '`',
      value = {
        "'10' > 9 => true",
        "'10' > '9' => true",
        "'abc' < 'abd' => true",
        "'b' > 'abc' => true",
        "2 == 2.0 => true",
        "'1.50' == 1.5 => true",
        "' 3 ' == 3 => true",
        "true == 'true' => true",
        "'TRUE' == true => true",
        "false != 'false' => false",
        "null == '' => true",
        "null == 0 => false",
        "steps.train-1.outputs.accuracy >= params.min => true",
        "steps.train-1.outputs.count > 9 => true",
        "params.name == 'churn' => true",
        "params.name == \"churn\" => true",
        "steps.train-1.status != 'failed' => true",
        "-1 < 0 => true",
        "1e3 == 1000 => true",
        "'a\\'b' == \"a'b\" => true",
      })
  void comparisonsAreNumericWhenBothSidesAreNumbers(String expr, boolean expected)
      throws Exception {
    assertThat(eval(expr)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource(
      delimiterString = " => ",
      quoteCharacter = '`',
      value = {
        "null => false",
        "false => false",
        "'' => false",
        "'false' => false",
        "'FALSE' => false",
        "'0' => false",
        "0 => false",
        "0.0 => false",
        "params.zero => false",
        "steps.train-1.outputs.empty => false",
        "steps.train-1.outputs.nothing => false",
        "true => true",
        "'no' => true",
        "'0.0' => true",
        "1 => true",
        "-1 => true",
        "'x' => true",
        "steps.train-1.outputs.passed => true",
        "params.on => true",
      })
  void truthiness(String expr, boolean expected) throws Exception {
    assertThat(test(expr)).isEqualTo(expected);
  }

  @Test
  void andOrShortCircuitAndReturnBooleans() throws Exception {
    assertThat(eval("false && steps.missing.outputs.x")).isEqualTo(false);
    assertThat(eval("true || steps.missing.outputs.x")).isEqualTo(true);
    assertThat(eval("'x' && 1")).isEqualTo(true);
    assertThat(eval("'' || 0")).isEqualTo(false);
  }

  @Test
  void literalsKeepTheirTypes() throws Exception {
    assertThat(eval("42")).isEqualTo(42L);
    assertThat(eval("-2.5")).isEqualTo(-2.5);
    assertThat(eval("'it\\'s'")).isEqualTo("it's");
    assertThat(eval("\"tab\\there\"")).isEqualTo("tab\there");
    assertThat(eval("null")).isNull();
    assertThat(eval("true")).isEqualTo(true);
    assertThat(eval("99999999999999999999")).isEqualTo(1e20);
  }

  @Test
  void anUnknownReferenceNamesThePath() {
    assertThatThrownBy(() -> eval("steps.a.outputs.x == 1"))
        .isInstanceOf(EvalException.class)
        .hasMessage("unknown reference 'steps.a.outputs.x'");
    assertThatThrownBy(() -> eval("params.name.length"))
        .hasMessage("unknown reference 'params.name.length'");
  }

  @Test
  void theResolverSeesThePathAsSegments() throws Exception {
    List<List<String>> seen = new ArrayList<>();
    Condition.parse("steps.my-step.outputs.x == run.id")
        .test(
            path -> {
              seen.add(path);
              return "v";
            });

    assertThat(seen)
        .containsExactly(List.of("steps", "my-step", "outputs", "x"), List.of("run", "id"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiterString = " => ",
      quoteCharacter = '`',
      value = {
        "a == => 4 => expected a value after '=='",
        "a = b => 2 => unexpected '=' (use '==' to compare)",
        "a & b => 2 => unexpected '&' (use '&&')",
        "a | b => 2 => unexpected '|' (use '||')",
        "'abc => 0 => unterminated string (missing ')",
        "(a == b => 7 => expected ')' to close '('",
        "a == b) => 6 => unexpected ')'",
        "a b => 2 => unexpected 'b': expected an operator such as '==' or '&&'",
        "a == b == c => 7 => comparisons cannot be chained; use parentheses, e.g. (a == b) == c",
        "a < b < c => 6 => comparisons cannot be chained; use '&&', e.g. a < b && b < c",
        "a. => 2 => expected a name after '.'",
        "a + 1 => 2 => unexpected '+': expressions have no arithmetic",
        "a[0] => 1 => unexpected character '['",
        "12abc => 0 => malformed number '12a'",
        "! => 1 => expected a value after '!'",
        "x }} => 2 => unexpected '}'",
      })
  void parseErrorsGiveTheColumn(String expr, int column, String message) {
    assertThatThrownBy(() -> Condition.parse(expr))
        .isInstanceOf(ExprException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((ExprException) e).column()).isEqualTo(column));
  }

  @Test
  void hostileNestingFailsWithAMessageNotAStackOverflow() {
    assertThatThrownBy(() -> Condition.parse("(".repeat(10_000) + "a" + ")".repeat(10_000)))
        .isInstanceOf(ExprException.class)
        .hasMessageContaining("nested too deeply");
  }

  @Test
  void longFlatChainsAreFine() throws Exception {
    assertThat(test("!".repeat(100_000) + "true")).isTrue();
    assertThat(test(String.join(" && ", java.util.Collections.nCopies(50_000, "true")))).isTrue();
    assertThat(test("(((((((((((a == 1)))))))))))".replace("a", "params.n").replace("1", "3")))
        .isTrue();
  }
}
