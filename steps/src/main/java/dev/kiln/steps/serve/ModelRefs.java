package dev.kiln.steps.serve;

import com.github.dockerjava.api.DockerClient;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code NAME@VERSION} or {@code NAME@ALIAS} to a registered version, and that version's artifact
 * checked against the sha256 the registry recorded, with its flavour and signature (derived from
 * the artifact and recorded with the version the first time).
 */
final class ModelRefs {
  private ModelRefs() {}

  static ModelVersion resolve(ModelRegistry models, String ref) throws ServeException {
    int at = ref.lastIndexOf('@');
    if (at <= 0 || at == ref.length() - 1) {
      throw new ServeException("'" + ref + "' is not NAME@VERSION or NAME@ALIAS");
    }
    String name = ref.substring(0, at);
    String which = ref.substring(at + 1);
    try {
      Names.model(name);
      if (!models.exists(name)) {
        throw new ServeException("no model '" + name + "' (see 'kiln models list')");
      }
      if (which.matches("\\d+")) {
        return models
            .get(name, Integer.parseInt(which))
            .orElseThrow(() -> new ServeException("model '" + name + "' has no version " + which));
      }
      Names.alias(which);
      return models
          .lookup(name, which)
          .orElseThrow(
              () ->
                  new ServeException(
                      "model '"
                          + name
                          + "' has no alias '"
                          + which
                          + "' (see 'kiln models show')"));
    } catch (RegistryException e) {
      throw new ServeException(e.getMessage());
    }
  }

  /** The stored artifact of a version, after checking that its content still has its sha256. */
  static Path artifact(ArtifactStore artifacts, ModelVersion v) throws ServeException {
    Path p = artifacts.path(v.artifactSha256());
    if (!Files.exists(p)) {
      throw new ServeException(
          v.ref() + ": its artifact " + v.artifactSha256() + " is missing from the artifact store");
    }
    if (Files.isRegularFile(p)) {
      try {
        String sha = ArtifactStore.sha256(p);
        if (!sha.equals(v.artifactSha256())) {
          throw new ServeException(
              v.ref()
                  + ": its artifact is corrupted (sha256 "
                  + sha
                  + ", the registry recorded "
                  + v.artifactSha256()
                  + ")");
        }
      } catch (IOException e) {
        throw new ServeException(v.ref() + ": cannot read its artifact: " + e.getMessage(), e);
      }
    }
    return p;
  }

  /**
   * What an image or a download carries beside the artifact. A scikit-learn model's signature is
   * read in a container, so docker may only be null when that is not needed (else a
   * ServeException).
   */
  static ModelInfo info(
      ServingStore store, ArtifactStore artifacts, ModelVersion v, DockerClient docker)
      throws ServeException {
    Path artifact = artifact(artifacts, v);
    ServingStore.Recorded rec = store.signature(v.name(), v.version()).orElse(null);
    if (rec == null) {
      try {
        String flavour = Flavours.detect(artifact);
        if (TribuoModel.FLAVOUR.equals(flavour)) {
          rec = new ServingStore.Recorded(flavour, TribuoModel.load(artifact).signature());
        } else if (docker == null) {
          throw new ServeException(
              v.ref() + ": a " + flavour + " model, whose columns are read on the Docker engine");
        } else {
          rec =
              new ServingStore.Recorded(flavour, SklearnModel.signature(docker, artifact, v.ref()));
        }
      } catch (Flavours.Unsupported e) {
        throw new ServeException(v.ref() + ": " + e.getMessage());
      } catch (IOException e) {
        throw new ServeException(v.ref() + ": cannot read its artifact: " + e.getMessage(), e);
      }
      store.recordSignature(v.name(), v.version(), rec.flavour(), rec.signature());
    }
    return new ModelInfo(
        v.name(),
        v.version(),
        rec.flavour(),
        v.artifactSha256(),
        "model." + rec.flavour(),
        rec.signature(),
        lineage(v));
  }

  static Map<String, Object> lineage(ModelVersion v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run_id", v.runId());
    m.put("step", v.stepId());
    m.put("pipeline", v.pipeline());
    m.put("pipeline_version", v.pipelineVersion());
    m.put("git_commit", v.gitCommit());
    m.put("created_by", v.createdBy());
    m.put("created_at", v.createdAt().toString());
    return m;
  }
}
