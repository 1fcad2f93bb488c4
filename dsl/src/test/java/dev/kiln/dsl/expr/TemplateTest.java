package dev.kiln.dsl.expr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplateTest {
  static final Resolver DATA;

  static {
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("n", 3L);
    params.put("ratio", 0.85);
    params.put("whole", 3.0);
    params.put("big", 1e20);
    params.put("tiny", 1e-7);
    params.put("flag", true);
    params.put("none", null);
    params.put("list", List.of(1, "a", true));
    params.put("map", new LinkedHashMap<>(Map.of("k", "v")));
    DATA = Resolver.of(Map.of("params", params, "matrix", Map.of("lr", 0.1)));
  }

  @Test
  void rendersTextAndEveryExpression() throws Exception {
    Template t = Template.parse("train --n ${{ params.n }} --lr=${{matrix.lr}} done");

    assertThat(t.render(DATA)).isEqualTo("train --n 3 --lr=0.1 done");
    assertThat(t.isConstant()).isFalse();
  }

  @Test
  void rendersValuesReadably() throws Exception {
    assertThat(Template.parse("${{ params.whole }}").render(DATA)).isEqualTo("3");
    assertThat(Template.parse("${{ params.ratio }}").render(DATA)).isEqualTo("0.85");
    assertThat(Template.parse("${{ params.big }}").render(DATA)).isEqualTo("100000000000000000000");
    assertThat(Template.parse("${{ params.tiny }}").render(DATA)).isEqualTo("0.0000001");
    assertThat(Template.parse("[${{ params.none }}]").render(DATA)).isEqualTo("[]");
    assertThat(Template.parse("${{ params.flag }}").render(DATA)).isEqualTo("true");
    assertThat(Template.parse("${{ params.list }}").render(DATA)).isEqualTo("[1,\"a\",true]");
    assertThat(Template.parse("${{ params.map }}").render(DATA)).isEqualTo("{\"k\":\"v\"}");
    assertThat(Template.parse("${{ params.n > 2 }}").render(DATA)).isEqualTo("true");
  }

  @Test
  void evaluateKeepsTheTypeOfASingleExpression() throws Exception {
    assertThat(Template.parse("${{ params.n }}").evaluate(DATA)).isEqualTo(3L);
    assertThat(Template.parse("${{ params.list }}").evaluate(DATA))
        .isEqualTo(List.of(1, "a", true));
    assertThat(Template.parse(" ${{ params.n }}").evaluate(DATA)).isEqualTo(" 3");
    assertThat(Template.parse("plain").evaluate(DATA)).isEqualTo("plain");
  }

  @Test
  void textWithoutExpressionsIsConstant() throws Exception {
    Template t = Template.parse("echo }} and $ and { and ${ {");

    assertThat(t.isConstant()).isTrue();
    assertThat(
            t.render(
                path -> {
                  throw new AssertionError("no reference to resolve");
                }))
        .isEqualTo("echo }} and $ and { and ${ {");
    assertThat(Template.parse("").render(DATA)).isEmpty();
  }

  @Test
  void aClosingBraceInsideAStringDoesNotEndTheExpression() throws Exception {
    assertThat(Template.parse("${{ '}}' }}x").render(DATA)).isEqualTo("}}x");
  }

  @Test
  void aDoubledDollarIsNotAnEscape() throws Exception {
    assertThat(Template.parse("$${{ params.n }}").render(DATA)).isEqualTo("$3");
  }

  @Test
  void referencesListEveryDistinctPathInOrder() throws Exception {
    Template t =
        Template.parse(
            "${{ steps.train.outputs.model }} ${{ params.n > 1 && steps.train.outputs.model }} ${{ run.id }}");

    assertThat(t.references())
        .containsExactly(
            List.of("steps", "train", "outputs", "model"),
            List.of("params", "n"),
            List.of("run", "id"));
    assertThat(t.referenceSites()).extracting(Expr.Ref::column).containsExactly(4, 37, 53, 86);
  }

  @Test
  void parseErrorsGiveTheColumnInTheWholeText() {
    assertThatThrownBy(() -> Template.parse("echo ${{ params.n == }} x"))
        .isInstanceOf(ExprException.class)
        .hasMessage("expected a value after '=='")
        .satisfies(e -> assertThat(((ExprException) e).column()).isEqualTo(21));
    assertThatThrownBy(() -> Template.parse("a ${{ b }} c ${{ d"))
        .hasMessage("'${{' is not closed with '}}'")
        .satisfies(e -> assertThat(((ExprException) e).column()).isEqualTo(13));
    assertThatThrownBy(() -> Template.parse("x ${{ }}"))
        .hasMessage("empty expression")
        .satisfies(e -> assertThat(((ExprException) e).column()).isEqualTo(2));
  }

  @Test
  void renderingAnUnknownReferenceFails() throws Exception {
    Template t = Template.parse("${{ params.missing }}");

    assertThatThrownBy(() -> t.render(DATA))
        .isInstanceOf(EvalException.class)
        .hasMessage("unknown reference 'params.missing'");
  }
}
