package dev.kiln.engine.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.kiln.engine.task.TaskSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The key of a {@code cache: true} step: sha256 of the canonical JSON (keys sorted, compact) of
 * what determines its result. See docs/dsl.md ("cache") for what is in it and what is not.
 */
public final class CacheKey {
  /**
   * Part of every key: raise it when what goes into a key changes, so entries recorded under the
   * old rules are never hits again.
   */
  public static final int FORMAT = 1;

  private static final ObjectMapper CANONICAL =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private CacheKey() {}

  /**
   * @param pipeline the pipeline's name; with {@code stepId} the key's scope, so two pipelines (or
   *     two steps) never share an entry by accident
   * @param imageId the id of the image as the local Docker engine has it (a content hash, not the
   *     tag), or null when the step does not run in a container
   */
  public static String of(String pipeline, String stepId, TaskSpec spec, String imageId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", FORMAT);
    m.put("pipeline", pipeline);
    m.put("step", stepId);
    m.put("kind", spec.kind());
    if (spec.isRun()) {
      // The script names KILN_EXPR_n, whose values (every param and output used) are in env;
      // secrets are references (SecretRefs) in env, so no secret value is hashed or stored.
      m.put("command", spec.command());
      m.put("image", imageId);
    } else {
      m.put("uses", spec.uses());
      m.put("with", spec.with());
      // Relative paths in `with` resolve against the folder the run was started from.
      m.put("base_dir", spec.baseDir());
    }
    m.put("env", spec.env());
    // Input artifacts by their content: a stored path ends in the artifact's sha256.
    Map<String, Map<String, String>> inputs = new TreeMap<>();
    spec.inputs()
        .forEach(
            (step, arts) -> {
              Map<String, String> shas = new TreeMap<>();
              arts.forEach((name, path) -> shas.put(name, Path.of(path).getFileName().toString()));
              inputs.put(step, shas);
            });
    m.put("inputs", inputs);
    return sha256(canonical(m));
  }

  static String canonical(Map<String, Object> m) {
    try {
      return CANONICAL.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "a step's inputs are not serialisable: " + e.getMessage(), e);
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
