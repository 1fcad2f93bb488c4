package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.SideEffects;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code uses: model/register}: a new numbered version of a model with its artifact, the run's
 * metrics and params, and its lineage (run, pipeline version, the git commit of the pipeline's
 * folder; dataset reads and image digests are found through the run); optionally an alias.
 */
public final class ModelRegisterStep implements BuiltinStep {
  static final String NAME = "model/register";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Registers an artifact as a new version of a named model, with its metrics and lineage.",
        List.of(
            WithKey.required("name", Type.STRING, "the model name"),
            WithKey.required(
                "artifact",
                Type.PATH,
                "the model file or folder (in the work folder or the artifact store)"),
            WithKey.optional(
                "alias", Type.STRING, "an alias to point at the new version, e.g. staging"),
            WithKey.optional("tags", Type.MAP, "free-form tags KEY: VALUE"),
            WithKey.optional("reason", Type.STRING, "why, recorded in the alias history"),
            WithKey.optional(
                "metrics",
                Type.LIST,
                "the metric names the version carries (default: all those the step that produced"
                    + " the artifact wrote, else the run's)"),
            WithKey.optional(
                "dedupe",
                Type.BOOLEAN,
                "return the existing version when one has the same artifact sha256 instead of"
                    + " registering a copy (default true)")),
        Outputs.of(
            "name",
            "the model name",
            "version",
            "the new version number (or the existing one with the same artifact)",
            "uri",
            "model:NAME@VERSION",
            "existing",
            "true when an existing version had the same artifact and was returned"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      String name = Names.model(in.string("name"));
      String alias = in.has("alias") ? Names.alias(in.string("alias")) : null;
      Map<String, String> tags = tags(in.raw("tags"));
      Path artifact = in.path("artifact");
      ArtifactStore.Stored stored = ctx.engine().artifacts().put(artifact);
      String pipelineDir = ctx.task().spec().pipelineDir();
      ModelRegistry.NewVersion nv =
          new ModelRegistry.NewVersion(
              name,
              stored.sha256(),
              stored.size(),
              stored.kind(),
              ctx.task().runId(),
              ctx.task().stepId(),
              gitCommit(pipelineDir == null ? ctx.baseDir() : Path.of(pipelineDir)),
              tags,
              alias,
              Names.who(),
              in.string("reason", "registered by run " + ctx.task().runId()));
      boolean dedupe = in.bool("dedupe", true);
      List<String> wanted = in.list("metrics");
      long runId = ctx.task().runId();
      // Once per task: an attempt re-run after a lost one returns the version the first made.
      SideEffects.Outcome once =
          ctx.engine()
              .sideEffects()
              .once(
                  ctx.task(),
                  NAME,
                  c -> {
                    Map<String, Double> metrics =
                        chosen(ModelRegistry.metricsOf(c, runId, stored.sha256()), wanted);
                    ModelRegistry.Registered r =
                        dedupe
                            ? ctx.engine().models().registerOrReuse(c, nv, metrics)
                            : new ModelRegistry.Registered(
                                ctx.engine().models().register(c, nv, metrics), false);
                    ModelVersion v = r.version();
                    Map<String, String> out = new LinkedHashMap<>();
                    out.put("name", name);
                    out.put("version", String.valueOf(v.version()));
                    out.put("uri", "model:" + v.ref());
                    out.put("existing", String.valueOf(r.existing()));
                    out.put("metrics", String.valueOf(v.metrics()));
                    return out;
                  });
      Map<String, String> out = new LinkedHashMap<>(once.outputs());
      String metrics = out.remove("metrics");
      String version = name + "@" + out.get("version");
      ctx.logs()
          .line(
              "system",
              (once.repeated() ? "already done by an earlier attempt: " : "")
                  + ("true".equals(out.get("existing"))
                      ? "artifact sha256 "
                          + stored.sha256()
                          + " is already "
                          + version
                          + "; not registered again"
                          + (alias == null ? "" : ", " + alias + " points at it")
                      : "registered "
                          + version
                          + (alias == null ? "" : " as " + alias)
                          + " with metrics "
                          + metrics));
      return new Completion(Completion.Outcome.SUCCEEDED, null, null, out, List.of(), List.of());
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (MissingMetric e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.failed(e.getMessage());
    } catch (IOException e) {
      return Completion.failed(NAME + ": cannot store the artifact: " + e.getMessage());
    }
  }

  /** A metric named in with.metrics that the run did not write (thrown inside the effect). */
  private static final class MissingMetric extends RuntimeException {
    MissingMetric(String message) {
      super(message);
    }
  }

  /** The metrics named, in their order; all of them when none is named. */
  private static Map<String, Double> chosen(Map<String, Double> all, List<String> names) {
    if (names.isEmpty()) {
      return all;
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (String n : names) {
      Double v = all.get(n);
      if (v == null) {
        throw new MissingMetric(
            NAME
                + ": with.metrics: no metric '"
                + n
                + "' was written (there are "
                + all.keySet()
                + ")");
      }
      out.put(n, v);
    }
    return out;
  }

  private static Map<String, String> tags(Object raw) throws With.BadInput {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null) {
      return out;
    }
    if (!(raw instanceof Map<?, ?> m)) {
      throw new With.BadInput(NAME + ": with.tags: must be a map of key: value");
    }
    m.forEach((k, v) -> out.put(String.valueOf(k), String.valueOf(v)));
    return out;
  }

  /** HEAD of the git repository holding dir, or null when there is none (or no git). */
  static String gitCommit(Path dir) {
    if (dir == null || !Files.isDirectory(dir)) {
      return null;
    }
    try {
      Process p =
          new ProcessBuilder("git", "-C", dir.toString(), "rev-parse", "HEAD")
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 && out.matches("[0-9a-f]{40,64}") ? out : null;
    } catch (IOException e) {
      return null; // no git on this machine: the commit is unknown, which lineage shows as such
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
