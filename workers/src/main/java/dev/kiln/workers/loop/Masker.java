package dev.kiln.workers.loop;

import dev.kiln.engine.task.Completion;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one place a task's text is masked before it is stored: every log line (through {@link
 * LogBuffer}), and the outputs, metric keys, artifact names and error of its {@link Completion}.
 * Each value of a secret the step could see, and of each {@code secret: true} param, becomes {@code
 * ***}; so does each line of a value that spans lines, since logs are stored by line. Values
 * shorter than {@link #MIN_LENGTH} are not masked: they would mask every digit.
 */
final class Masker {
  static final int MIN_LENGTH = 4;
  static final String MASK = "***";
  static final Masker NONE = new Masker(List.of());

  private final List<String> values;

  Masker(Collection<String> secrets) {
    Set<String> all = new LinkedHashSet<>();
    for (String s : secrets) {
      if (s == null) {
        continue;
      }
      all.add(s);
      all.addAll(List.of(s.split("\\R")));
    }
    List<String> kept = new ArrayList<>();
    for (String s : all) {
      if (s.length() >= MIN_LENGTH) {
        kept.add(s);
      }
    }
    // Longest first, so a secret that contains another is masked whole.
    kept.sort(Comparator.comparingInt(String::length).reversed());
    this.values = List.copyOf(kept);
  }

  boolean isEmpty() {
    return values.isEmpty();
  }

  String text(String s) {
    if (s == null || values.isEmpty()) {
      return s;
    }
    for (String v : values) {
      if (s.contains(v)) {
        s = s.replace(v, MASK);
      }
    }
    return s;
  }

  Completion completion(Completion c) {
    if (values.isEmpty()) {
      return c;
    }
    Map<String, String> outputs = new LinkedHashMap<>();
    c.outputs().forEach((k, v) -> outputs.put(text(k), text(v)));
    List<Completion.Metric> metrics = new ArrayList<>();
    for (Completion.Metric m : c.metrics()) {
      metrics.add(new Completion.Metric(text(m.key()), m.value()));
    }
    List<Completion.Artifact> artifacts = new ArrayList<>();
    for (Completion.Artifact a : c.artifacts()) {
      artifacts.add(new Completion.Artifact(text(a.name()), a.sha256(), a.size(), a.kind()));
    }
    return new Completion(
        c.outcome(),
        c.exitCode(),
        text(c.error()),
        outputs,
        metrics,
        artifacts,
        c.imageDigest(),
        c.cacheKey(),
        c.cachedFrom());
  }
}
