package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.cache.CacheKey;
import dev.kiln.engine.run.SecretRefs;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.spi.StepPaths;
import dev.kiln.engine.store.CacheEntries;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.TaskSpec;
import dev.kiln.workers.process.LocalProcesses;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One attempt from claim to result: lays out the work folder (KILN_OUTPUTS, KILN_METRICS,
 * KILN_ARTIFACTS, KILN_INPUTS), hands the command to an executor or runs the built-in step, then
 * reads back outputs, metrics and artifacts into a {@link Completion}.
 */
final class TaskRunner {

  /** A step that failed with less free space than this left under its work folder hit the floor. */
  private static final long DISK_NEARLY_FULL = 1 << 20;

  /** KILN_KEEP_WORK=true keeps the work folders, for looking at what a step left. */
  private static final boolean KEEP_WORK =
      Boolean.parseBoolean(System.getenv().getOrDefault("KILN_KEEP_WORK", "false"));

  private final Engine engine;
  private final Map<String, Executor> executors;
  private final Map<String, BuiltinStep> builtins;
  private final String forceExecutor;
  private final String worker;
  private final StepLimits limits;
  private final WorkFolder folder;

  TaskRunner(
      Engine engine,
      Map<String, Executor> executors,
      Map<String, BuiltinStep> builtins,
      String forceExecutor,
      String worker,
      StepLimits limits) {
    this.limits = limits;
    this.engine = engine;
    this.executors = executors;
    this.builtins = builtins;
    this.forceExecutor = forceExecutor;
    this.worker = worker;
    this.folder = new WorkFolder(engine);
  }

  Completion run(ClaimedTask task, LogBuffer logs, Cancellation cancel)
      throws InterruptedException {
    if (!task.spec().cache()) {
      return execute(task, logs, cancel);
    }
    CacheEntries.RunContext context = engine.cache().context(task.runId());
    String cacheKey = cacheKey(task, context.pipeline(), logs);
    if (cacheKey != null) {
      if (context.noCache()) {
        logs.line(
            "system", "cache not read (--no-cache); a success is recorded under key " + cacheKey);
      } else {
        var hit = engine.cache().lookup(cacheKey);
        if (hit.isPresent()) {
          logs.line("system", hit.get().cachedFrom().describe() + " (key " + cacheKey + ")");
          return hit.get();
        }
        logs.line("system", "cache miss (key " + cacheKey + ")");
      }
    }
    Completion result = execute(task, logs, cancel);
    return cacheKey == null ? result : result.withCacheKey(cacheKey);
  }

  /**
   * The step's cache key, or null when it cannot have one: its container image cannot be found now
   * (it then fails to run with the reason) or no executor here can run it.
   */
  private String cacheKey(ClaimedTask task, String pipeline, LogBuffer logs)
      throws InterruptedException {
    TaskSpec spec = task.spec();
    String imageId = null;
    if (spec.isRun()) {
      Executor ex = chooseExecutor(spec);
      if (ex == null) {
        return null;
      }
      imageId = ex.imageId(spec, logs);
      if (imageId == null && spec.image() != null && !"process".equals(ex.name())) {
        return null;
      }
    }
    return CacheKey.of(pipeline, task.stepId(), spec, imageId);
  }

  private Completion execute(ClaimedTask task, LogBuffer logs, Cancellation cancel)
      throws InterruptedException {
    TaskSpec spec = task.spec();
    Path work = workDir(task);
    Path outputs = work.resolve("kiln/outputs");
    Path metrics = work.resolve("kiln/metrics");
    Path artifacts = work.resolve("kiln/artifacts");
    Path inputs = work.resolve("kiln/inputs");
    try {
      ArtifactStore.deleteTree(work);
      // Each folder and file costs a metadata write (0.3 ms on this project's CI disk), so only
      // what the step can use is made: KILN_INPUTS only when it needs artifacts.
      makeFolders(work, artifacts);
      Files.createFile(outputs);
      Files.createFile(metrics);
      if (!spec.inputs().isEmpty()) {
        Files.createDirectories(inputs);
        folder.linkInputs(spec, inputs);
      }
    } catch (IOException e) {
      cleanUpQuietly(work);
      return Completion.failed(
          (DiskSpace.isDiskFull(e) ? "disk full: " : "")
              + "cannot prepare the work folder "
              + work
              + ": "
              + e.getMessage());
    }
    Map<String, String> env = new LinkedHashMap<>(spec.env());
    env.remove(SecretRefs.ENV_KEY);
    SecretRefs refs = SecretRefs.of(spec.env());
    List<String> secretValues = new ArrayList<>(refs.mask());
    Map<String, Object> with = spec.with();
    try {
      for (var e : refs.env().entrySet()) {
        env.put(e.getKey(), fill(e.getValue(), secretValues));
      }
      if (!refs.with().isEmpty()) {
        with = withSecrets(spec.with(), refs.with(), secretValues);
      }
    } catch (MissingSecret e) {
      return Completion.failed(e.getMessage());
    } finally {
      logs.mask(new Masker(secretValues));
    }
    env.put("KILN_OUTPUTS", outputs.toString());
    env.put("KILN_METRICS", metrics.toString());
    env.put("KILN_ARTIFACTS", artifacts.toString());
    env.put("KILN_INPUTS", inputs.toString());
    env.put("KILN_RUN_ID", String.valueOf(task.runId()));
    env.put("KILN_STEP", task.stepId());
    env.put("KILN_ATTEMPT", String.valueOf(task.attempt()));
    // How this attempt's processes are found: to stop them on timeout or cancel, and by a later
    // worker on this host if this one dies.
    env.put("KILN_TASK", LocalProcesses.taskTag(task.id(), task.attempt(), worker));
    if (spec.pipelineDir() != null) {
      env.put("KILN_PIPELINE_DIR", spec.pipelineDir());
    }
    if (spec.baseDir() != null) {
      env.put("KILN_BASE_DIR", spec.baseDir());
    }
    Completion result;
    if (spec.isRun()) {
      Executor ex = chooseExecutor(spec);
      if (ex == null) {
        return Completion.failed(
            "step needs image "
                + spec.image()
                + " but no container executor is available here; run with --executor process");
      }
      ExecutionResult r = ex.execute(new Invocation(task, work, env, spec.command(), logs, cancel));
      if (r.outcome() == Completion.Outcome.FAILED && DiskSpace.usable(work) < DISK_NEARLY_FULL) {
        r =
            new ExecutionResult(
                r.outcome(),
                r.exitCode(),
                "disk full under "
                    + engine.config().workDir()
                    + (r.error() == null ? "" : ": " + r.error()),
                r.imageDigest());
      }
      result = collect(r, outputs, metrics, artifacts);
    } else {
      BuiltinStep b = builtins.get(spec.uses());
      if (b == null) {
        return Completion.invalid(
            "unknown built-in step '"
                + spec.uses()
                + "'; this worker has: "
                + (builtins.isEmpty() ? "none" : String.join(", ", builtins.keySet())));
      }
      result =
          BuiltinRunner.run(
              b,
              new BuiltinStep.Context(
                  task, with, work, stepPaths(spec, work), logs, cancel, engine),
              cancel);
    }
    return result;
  }

  /**
   * Makes the attempt's folder and its kiln/artifacts: each folder with one mkdir, the run's folder
   * only for its first step. (Files.createDirectories first fails on the deepest folder and then
   * probes every missing parent, each failure an exception: three times the system calls.)
   */
  private static void makeFolders(Path work, Path artifacts) throws IOException {
    for (int tries = 1; ; tries++) {
      try {
        Files.createDirectory(work);
        break;
      } catch (NoSuchFileException e) {
        // No run folder: the run's first step here, or another step's clean-up has just removed
        // it, empty, between our two mkdirs (cleanUp): make it and try again.
        if (tries == 5) {
          throw e;
        }
        Files.createDirectories(work.getParent());
      }
    }
    Files.createDirectory(artifacts.getParent());
    Files.createDirectory(artifacts);
  }

  /** The folders a built-in may use: docs/security.md, "Paths". */
  private StepPaths stepPaths(TaskSpec spec, Path work) {
    List<Path> roots = new ArrayList<>();
    roots.add(work);
    if (spec.pipelineDir() != null) {
      roots.add(Path.of(spec.pipelineDir()));
    }
    roots.add(engine.config().artifactsDir());
    roots.addAll(engine.config().dataRoots());
    return new StepPaths(
        spec.baseDir() == null ? Path.of("").toAbsolutePath() : Path.of(spec.baseDir()), roots);
  }

  /** The attempt's work folder: its working directory, with kiln/ for outputs and artifacts. */
  Path workDir(ClaimedTask task) {
    return engine
        .config()
        .workDir()
        .resolve("run-" + task.runId())
        .resolve(task.stepId() + "-" + task.attempt());
  }

  /**
   * Removes the attempt's work folder (unless KILN_KEEP_WORK=true), and the run's when {@code
   * lastOfRunHere} (no other step of the run runs on this worker) and it is empty. The worker calls
   * this after it has recorded the result and claimed what that made ready, so removing files is
   * not on the path from one step to the next.
   */
  void cleanUp(ClaimedTask task, boolean lastOfRunHere) throws IOException {
    if (!KEEP_WORK) {
      Path work = workDir(task);
      ArtifactStore.deleteTree(work);
      if (lastOfRunHere) {
        // The run's folder goes with the last of its steps' folders (a server would otherwise
        // keep one empty folder per run it ever ran), when no other step of the run runs here;
        // one on another worker sharing this KILN_HOME keeps it, or makes it again (makeFolders).
        try {
          Files.delete(work.getParent());
        } catch (DirectoryNotEmptyException | NoSuchFileException e) {
          // another step's folder is still there, or another clean-up removed it first
        }
      }
    }
  }

  private static void cleanUpQuietly(Path work) {
    try {
      ArtifactStore.deleteTree(work);
    } catch (IOException e) {
      // The folder is removed again when the attempt ends (cleanUp); nothing else is lost.
    }
  }

  /**
   * The executor of a {@code run} step: the one it requires ({@code executor:}; the claim only gave
   * this worker the task if it has it), else the worker's {@code --executor}, else a container for
   * a step with an image and a process otherwise.
   */
  private Executor chooseExecutor(TaskSpec spec) {
    String name =
        spec.executor() != null
            ? spec.executor()
            : forceExecutor != null ? forceExecutor : spec.image() != null ? "docker" : "process";
    return executors.get(name);
  }

  /**
   * The executors a worker runs steps with: its {@code --executor}, or the automatic choice's two
   * (a container for a step with an image, else a process). It claims no task that requires
   * another.
   */
  static List<String> runnableExecutors(String forceExecutor) {
    return forceExecutor != null ? List.of(forceExecutor) : List.of("docker", "process");
  }

  private Completion collect(ExecutionResult r, Path outputs, Path metrics, Path artifacts) {
    Map<String, String> outs = new LinkedHashMap<>();
    List<Completion.Metric> ms = new ArrayList<>();
    List<Completion.Artifact> arts = new ArrayList<>();
    String problem = null;
    try {
      problem = StepFiles.readOutputs(outputs, outs, limits.outputsBytes());
      if (problem == null) {
        problem = StepFiles.readMetrics(metrics, ms, limits.metricsBytes());
      }
      if (problem == null) {
        problem = folder.storeArtifacts(artifacts, arts);
      }
    } catch (IOException e) {
      problem =
          (DiskSpace.isDiskFull(e) ? "disk full: " : "cannot read the step's results: ")
              + e.getMessage();
    }
    if (problem != null && r.outcome() == Completion.Outcome.SUCCEEDED) {
      return new Completion(
          Completion.Outcome.FAILED, r.exitCode(), problem, outs, ms, arts, r.imageDigest());
    }
    return new Completion(r.outcome(), r.exitCode(), r.error(), outs, ms, arts, r.imageDigest());
  }

  /** A secret the step reads that this worker's environment does not hold. */
  static final class MissingSecret extends Exception {
    private static final long serialVersionUID = 1L;

    MissingSecret(String name) {
      super(
          "secret '"
              + name
              + "' is not set on this worker: set "
              + SecretRefs.variable(name)
              + " in its environment");
    }
  }

  /**
   * Joins text and secrets; a secret is read from KILN_SECRET_NAME only, and every value read is
   * added to {@code seen} (for masking).
   */
  static String fill(List<Object> parts, List<String> seen) throws MissingSecret {
    StringBuilder sb = new StringBuilder();
    for (Object part : parts) {
      String name = SecretRefs.secretName(part);
      if (name == null) {
        sb.append(part);
        continue;
      }
      String value = System.getenv(SecretRefs.variable(name));
      if (value == null) {
        throw new MissingSecret(name);
      }
      seen.add(value);
      sb.append(value);
    }
    return sb.toString();
  }

  /** A copy of {@code with} with each secret-bearing string (by JSON pointer) filled in. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> withSecrets(
      Map<String, Object> with, Map<String, List<Object>> refs, List<String> seen)
      throws MissingSecret {
    Map<String, Object> copy = Json.MAPPER.convertValue(with, Map.class);
    for (var e : refs.entrySet()) {
      String[] keys = e.getKey().substring(1).split("/", -1);
      Object parent = copy;
      for (int i = 0; i < keys.length; i++) {
        String key = keys[i].replace("~1", "/").replace("~0", "~");
        boolean last = i == keys.length - 1;
        if (parent instanceof Map<?, ?> m) {
          if (last) {
            ((Map<String, Object>) m).put(key, fill(e.getValue(), seen));
          } else {
            parent = m.get(key);
          }
        } else if (parent instanceof List<?> l) {
          if (last) {
            ((List<Object>) l).set(Integer.parseInt(key), fill(e.getValue(), seen));
          } else {
            parent = l.get(Integer.parseInt(key));
          }
        }
      }
    }
    return copy;
  }
}
