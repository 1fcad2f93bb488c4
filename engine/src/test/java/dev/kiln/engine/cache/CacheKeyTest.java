package dev.kiln.engine.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.task.TaskSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The key is a pure function of the resolved spec, its scope and the image id. */
class CacheKeyTest {
  private static TaskSpec run(
      String command, Map<String, String> env, Map<String, Map<String, String>> inputs) {
    return new TaskSpec(
        "run",
        command,
        null,
        Map.of(),
        "img:1",
        env,
        1000L,
        1.0,
        null,
        null,
        null,
        inputs,
        "/pipelines/a",
        "/here",
        true,
        List.of(),
        null);
  }

  private static final TaskSpec BASE =
      run(
          "train",
          Map.of("A", "1", "B", "2"),
          Map.of("prep", Map.of("data", "/home/artifacts/sha256/ab/ab12")));

  @Test
  void theSameInputsInAnyMapOrderMakeTheSameKey() {
    Map<String, String> reversed = new LinkedHashMap<>();
    reversed.put("B", "2");
    reversed.put("A", "1");
    assertThat(CacheKey.of("p", "s", run("train", reversed, BASE.inputs()), "sha256:1"))
        .isEqualTo(CacheKey.of("p", "s", BASE, "sha256:1"))
        .hasSize(64);
  }

  @Test
  void scopeImageCommandEnvAndInputContentEachChangeTheKey() {
    String key = CacheKey.of("p", "s", BASE, "sha256:1");
    assertThat(CacheKey.of("q", "s", BASE, "sha256:1")).isNotEqualTo(key);
    assertThat(CacheKey.of("p", "t", BASE, "sha256:1")).isNotEqualTo(key);
    assertThat(CacheKey.of("p", "s", BASE, "sha256:2")).isNotEqualTo(key);
    assertThat(CacheKey.of("p", "s", BASE, null)).isNotEqualTo(key);
    assertThat(CacheKey.of("p", "s", run("train2", BASE.env(), BASE.inputs()), "sha256:1"))
        .isNotEqualTo(key);
    assertThat(CacheKey.of("p", "s", run("train", Map.of("A", "1"), BASE.inputs()), "sha256:1"))
        .isNotEqualTo(key);
    assertThat(
            CacheKey.of(
                "p",
                "s",
                run(
                    "train",
                    BASE.env(),
                    Map.of("prep", Map.of("data", "/home/artifacts/sha256/cd/cd34"))),
                "sha256:1"))
        .isNotEqualTo(key);
  }

  @Test
  void whereTheArtifactStoreLivesAndLimitsThatDoNotShapeTheResultLeaveTheKeyAlone() {
    TaskSpec elsewhere =
        new TaskSpec(
            "run",
            "train",
            null,
            Map.of(),
            "img:2",
            BASE.env(),
            null,
            null,
            1L << 30,
            "kiln",
            "none",
            Map.of("prep", Map.of("data", "/other/home/artifacts/sha256/ab/ab12")),
            "/x",
            "/y",
            true,
            List.of(),
            null);
    assertThat(CacheKey.of("p", "s", elsewhere, "sha256:1"))
        .isEqualTo(CacheKey.of("p", "s", BASE, "sha256:1"));
  }
}
