package dev.kiln.dsl.expr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConditionTest {
  static final Resolver GATE =
      Resolver.of(Map.of("steps", Map.of("gate", Map.of("outputs", Map.of("passed", "false")))));

  @Test
  void wrappedAndBareFormsMeanTheSame() throws Exception {
    Condition wrapped = Condition.parse("${{ steps.gate.outputs.passed }}");
    Condition bare = Condition.parse("steps.gate.outputs.passed");
    Condition spaced = Condition.parse("  ${{ !steps.gate.outputs.passed }}  ");

    assertThat(wrapped.test(GATE)).isFalse();
    assertThat(bare.test(GATE)).isFalse();
    assertThat(spaced.test(GATE)).isTrue();
    assertThat(wrapped.references()).containsExactly(List.of("steps", "gate", "outputs", "passed"));
  }

  @Test
  void textAroundTheExpressionIsRefused() {
    assertThatThrownBy(() -> Condition.parse("${{ a }} && ${{ b }}"))
        .isInstanceOf(ExprException.class)
        .hasMessage("a condition is one expression: put all of it inside a single ${{ }}")
        .satisfies(e -> assertThat(((ExprException) e).column()).isEqualTo(9));
    assertThatThrownBy(() -> Condition.parse("run ${{ a }}"))
        .satisfies(e -> assertThat(((ExprException) e).column()).isZero());
  }

  @Test
  void anEmptyConditionIsRefused() {
    assertThatThrownBy(() -> Condition.parse("  ")).hasMessage("empty condition");
    assertThatThrownBy(() -> Condition.parse("${{ }}")).hasMessage("empty expression");
  }

  @Test
  void literalConditions() throws Exception {
    assertThat(Condition.parse("true").test(GATE)).isTrue();
    assertThat(Condition.parse("${{ false }}").test(GATE)).isFalse();
    assertThat(Condition.parse("true").references()).isEmpty();
  }
}
