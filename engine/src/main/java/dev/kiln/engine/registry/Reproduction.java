package dev.kiln.engine.registry;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Source;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.store.Sql;
import java.util.List;
import java.util.Map;

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
    String[] run =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.one(
                        c,
                        """
        select r.params::text, r.base_dir, r.pipeline_file, p.source, p.version
          from runs r join pipeline_versions p on p.version = r.pipeline_version where r.id = ?""",
                        rs ->
                            new String[] {
                              rs.getString(1),
                              rs.getString(2),
                              rs.getString(3),
                              rs.getString(4),
                              rs.getString(5)
                            },
                        original))
            .orElseThrow(
                () -> new RegistryException("the run " + original + " of " + v.ref() + " is gone"));
    Pipeline parsed;
    try {
      parsed = PipelineParser.parse(run[2] == null ? "pipeline.yaml" : run[2], run[3]).orThrow();
    } catch (PipelineException e) {
      throw new RegistryException(
          "the stored pipeline of run " + original + " no longer parses: " + e.getMessage());
    }
    Pipeline p = parsed.withSource(new Source(run[2], parsed.source().text(), run[4]));
    Map<String, Object> params = dev.kiln.engine.store.Json.readMap(run[0]);
    List<DatasetVersion> reads = engine.datasets().readsOf(original);
    long id =
        engine
            .runs()
            .createRun(
                p,
                params,
                "reproduce",
                run[1],
                (c, runId) -> {
                  DatasetRegistry.pin(c, runId, reads);
                  // A reproduction that took cached results would prove nothing.
                  dev.kiln.engine.run.RunService.bypassCache(c, runId);
                });
    return new Started(id, p, reads);
  }
}
