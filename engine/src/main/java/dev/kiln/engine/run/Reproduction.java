package dev.kiln.engine.run;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Source;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.store.RunRecord;
import java.util.List;

/**
 * Starts a run that reproduces a model version: the same pipeline version, params and base folder,
 * with the dataset versions the original run read pinned, so its dataset/version steps use those
 * versions whatever the files on disk hold now.
 */
public final class Reproduction {
  private Reproduction() {}

  /** The new run and the pipeline it runs. */
  public record Started(long runId, Pipeline pipeline, List<DatasetVersion> pinned) {}

  public static Started start(Engine engine, ModelVersion v) {
    if (v.runId() == null) {
      throw new RegistryException(
          v.ref() + " was registered outside a run; there is nothing to reproduce");
    }
    long original = v.runId();
    RunRecord run =
        engine
            .store()
            .run(original)
            .orElseThrow(
                () -> new RegistryException("the run " + original + " of " + v.ref() + " is gone"));
    String source =
        engine
            .store()
            .pipelineSource(run.pipelineVersion())
            .orElseThrow(
                () ->
                    new RegistryException(
                        "the pipeline version of run " + original + " is gone from the store"));
    String file = engine.store().pipelineFile(original).orElse(null);
    Pipeline parsed;
    try {
      parsed = PipelineParser.parse(file == null ? "pipeline.yaml" : file, source).orThrow();
    } catch (PipelineException e) {
      throw new RegistryException(
          "the stored pipeline of run " + original + " no longer parses: " + e.getMessage());
    }
    Pipeline p = parsed.withSource(new Source(file, parsed.source().text(), run.pipelineVersion()));
    List<DatasetVersion> reads = engine.datasets().readsOf(original);
    long id =
        engine
            .runs()
            .createRun(
                p,
                run.params(),
                "reproduce",
                run.baseDir(),
                (c, runId) -> {
                  DatasetRegistry.pin(c, runId, reads);
                  // A reproduction that took cached results would prove nothing.
                  RunService.bypassCache(c, runId);
                });
    return new Started(id, p, reads);
  }
}
