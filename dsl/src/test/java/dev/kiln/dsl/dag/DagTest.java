package dev.kiln.dsl.dag;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import org.junit.jupiter.api.Test;

class DagTest {
  static Dag dag(String steps) throws Exception {
    Pipeline p = PipelineParser.parse("d.yaml", "name: d\nsteps:\n" + steps).orThrow();
    return Dag.of(p);
  }

  static final String DIAMOND =
      """
        report: { needs: [left, right], run: echo }
        right:  { needs: [start], run: echo }
        left:   { needs: [start], run: echo }
        start:  { run: echo }
        lonely: { run: echo }
      """;

  @Test
  void orderPutsEveryStepAfterItsNeedsAndBreaksTiesByFileOrder() throws Exception {
    Dag d = dag(DIAMOND);

    assertThat(d.order()).containsExactly("start", "right", "left", "report", "lonely");
  }

  @Test
  void rootsAreStepsWithoutNeedsInFileOrder() throws Exception {
    assertThat(dag(DIAMOND).roots()).containsExactly("start", "lonely");
  }

  @Test
  void needsAndDependentsAreDirect() throws Exception {
    Dag d = dag(DIAMOND);

    assertThat(d.needs("report")).containsExactly("left", "right");
    assertThat(d.dependents("start")).containsExactly("right", "left");
    assertThat(d.dependents("report")).isEmpty();
    assertThat(d.needs("start")).isEmpty();
  }

  @Test
  void ancestorsAndDescendantsAreTransitive() throws Exception {
    Dag d = dag(DIAMOND);

    assertThat(d.ancestors("report")).containsExactlyInAnyOrder("left", "right", "start");
    assertThat(d.ancestors("start")).isEmpty();
    assertThat(d.descendants("start")).containsExactlyInAnyOrder("left", "right", "report");
    assertThat(d.size()).isEqualTo(5);
    assertThat(d.contains("lonely")).isTrue();
  }

  @Test
  void unknownStepsAreRefused() throws Exception {
    Dag d = dag(DIAMOND);

    assertThatThrownBy(() -> d.needs("nope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("no step 'nope'");
  }

  @Test
  void aLongChainWrittenBackwardsIsOrderedForwards() throws Exception {
    StringBuilder steps = new StringBuilder();
    for (int i = 9_999; i >= 0; i--) {
      steps.append("  s").append(i).append(": { run: echo");
      steps.append(i > 0 ? ", needs: s" + (i - 1) : "").append(" }\n");
    }

    Dag d = dag(steps.toString());

    assertThat(d.roots()).containsExactly("s0");
    for (int i = 0; i < 10_000; i++) {
      if (!d.order().get(i).equals("s" + i)) {
        throw new AssertionError("position " + i + " holds " + d.order().get(i));
      }
    }
    assertThat(d.ancestors("s9999")).hasSize(9_999);
    assertThat(d.descendants("s0")).hasSize(9_999);
  }
}
