package dev.kiln.steps.serve;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import java.nio.file.Path;

/** Registers real models in a test's registry. */
final class Models {
  private Models() {}

  static ModelVersion register(Engine e, Path dir, String name, long seed, String alias)
      throws Exception {
    return registerFile(e, TestModels.train(dir, seed), name, alias);
  }

  /** Registers any model file (a scikit-learn pickle, say) as the next version of name. */
  static ModelVersion registerFile(Engine e, Path file, String name, String alias)
      throws Exception {
    ArtifactStore.Stored s = e.artifacts().put(file);
    return e.models().register(ModelRegistry.NewVersion.ofFile(s, name, alias, "test", "test"));
  }
}
