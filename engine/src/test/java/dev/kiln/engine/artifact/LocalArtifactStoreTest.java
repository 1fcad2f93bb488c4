package dev.kiln.engine.artifact;

import java.nio.file.Path;

/** The local folder: both "hosts" share it, as processes on one machine do. */
final class LocalArtifactStoreTest extends ArtifactStoreContract {
  @Override
  ArtifactStore open(Path localDir) {
    return new LocalArtifactStore(tmp.resolve("shared-artifacts"));
  }
}
