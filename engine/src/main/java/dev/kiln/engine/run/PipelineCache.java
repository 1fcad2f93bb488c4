package dev.kiln.engine.run;

import dev.kiln.dsl.dag.Dag;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** Parsed pipeline versions by hash: a version's text never changes, so parse it once. */
final class PipelineCache {
  record Parsed(Pipeline pipeline, Dag dag) {}

  private final ConcurrentHashMap<String, Parsed> byVersion = new ConcurrentHashMap<>();

  void put(Pipeline p) {
    byVersion.computeIfAbsent(p.source().version(), v -> new Parsed(p, Dag.of(p)));
  }

  Parsed get(String version, Function<String, String> loadSource) {
    return byVersion.computeIfAbsent(
        version,
        v -> {
          String text = loadSource.apply(v);
          try {
            Pipeline p = PipelineParser.parse("pipeline@" + v.substring(0, 12), text).orThrow();
            return new Parsed(p, Dag.of(p));
          } catch (PipelineException e) {
            throw new IllegalStateException(
                "stored pipeline version " + v + " no longer parses: " + e.getMessage(), e);
          }
        });
  }
}
