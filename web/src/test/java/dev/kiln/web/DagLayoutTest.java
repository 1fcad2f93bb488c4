package dev.kiln.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DagLayoutTest {
  @Test
  void aStepIsDrawnRightOfEveryStepItNeedsAndNamesAreEscaped() {
    Map<String, List<String>> needs = new LinkedHashMap<>();
    needs.put("a", List.of());
    needs.put("b", List.of("a"));
    needs.put("c", List.of("a", "b"));
    String svg =
        DagLayout.of(List.of("a", "b", "c"), needs)
            .svg(Map.of("a", new DagLayout.NodeState("succeeded", "")), "/runs/1?task=");
    assertThat(svg).contains("data-step=\"a\" transform=\"translate(8,");
    assertThat(svg).contains("data-step=\"b\" transform=\"translate(232,");
    assertThat(svg).contains("data-step=\"c\" transform=\"translate(456,");
    assertThat(svg)
        .contains("node st-succeeded\" data-step=\"a\"", "node st-pending\" data-step=\"b\"");
    String evil = DagLayout.of(List.of("<x>"), Map.of()).svg(Map.of(), "/runs/1?task=");
    assertThat(evil).contains("&lt;x&gt;").doesNotContain("<x>");
  }

  @Test
  void twoThousandStepsAreLaidOutQuickly() {
    List<String> order = new ArrayList<>();
    Map<String, List<String>> needs = new LinkedHashMap<>();
    order.add("s0");
    needs.put("s0", List.of());
    for (int i = 1; i < 2000; i++) {
      order.add("s" + i);
      needs.put("s" + i, List.of("s" + ((i - 1) / 40 * 40)));
    }
    long t0 = System.nanoTime();
    DagLayout l = DagLayout.of(order, needs);
    assertThat(l.size()).isEqualTo(2000);
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2000);
  }

  @Test
  void ansiCodesAndControlCharactersAreStrippedFromLogLines() {
    assertThat(Html.plain("\u001b[1;31mred\u001b[0m text\u0007")).isEqualTo("red text");
    assertThat(Html.plain("\u001b]0;title\u0007after")).isEqualTo("after");
    assertThat(Html.plain("plain\tline")).isEqualTo("plain\tline");
  }
}
