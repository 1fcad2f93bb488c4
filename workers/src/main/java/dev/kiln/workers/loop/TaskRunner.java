package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.cache.CacheKey;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Cancellation;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.store.CacheEntries;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.TaskSpec;
import dev.kiln.workers.process.LocalProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One attempt from claim to result: lays out the work folder (KILN_OUTPUTS, KILN_METRICS,
 * KILN_ARTIFACTS, KILN_INPUTS), hands the command to an executor or runs the built-in step, then
 * reads back outputs, metrics and artifacts into a {@link Completion}.
 */
final class TaskRunner {
  static final long MAX_OUTPUTS_BYTES = 1 << 20;
  static final int MAX_METRIC_LINES = 100_000;

  /** KILN_KEEP_WORK=true keeps the work folders, for looking at what a step left. */
  private static final boolean KEEP_WORK =
      Boolean.parseBoolean(System.getenv().getOrDefault("KILN_KEEP_WORK", "false"));

  private static final Pattern SECRET =
      Pattern.compile("\\$\\{\\{\\s*secrets\\.([A-Za-z_][A-Za-z0-9_]*)\\s*}}");

  private final Engine engine;
  private final Map<String, Executor> executors;
  private final Map<String, BuiltinStep> builtins;
  private final String forceExecutor;
  private final String worker;

  TaskRunner(
      Engine engine,
      Map<String, Executor> executors,
      Map<String, BuiltinStep> builtins,
      String forceExecutor,
      String worker) {
    this.engine = engine;
    this.executors = executors;
    this.builtins = builtins;
    this.forceExecutor = forceExecutor;
    this.worker = worker;
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
      Files.createDirectories(artifacts);
      Files.createFile(outputs);
      Files.createFile(metrics);
      if (!spec.inputs().isEmpty()) {
        Files.createDirectories(inputs);
        linkInputs(spec, inputs);
      }
    } catch (IOException e) {
      return Completion.failed("cannot prepare the work folder " + work + ": " + e.getMessage());
    }
    Map<String, String> env = new LinkedHashMap<>();
    for (var e : spec.env().entrySet()) {
      env.put(e.getKey(), resolveSecrets(e.getValue()));
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
      ExecutionResult r =
          ex.execute(new Invocation(task, work, env, resolveSecrets(spec.command()), logs, cancel));
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
      try {
        result =
            b.run(
                new BuiltinStep.Context(
                    task,
                    spec.with(),
                    work,
                    spec.baseDir() == null ? Path.of("").toAbsolutePath() : Path.of(spec.baseDir()),
                    logs,
                    cancel,
                    engine));
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        result = Completion.failed(spec.uses() + ": " + e.getMessage());
      }
    }
    return result;
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
   * Removes the attempt's work folder (unless KILN_KEEP_WORK=true). The worker calls this after it
   * has recorded the result and claimed what that made ready, so removing files is not on the path
   * from one step to the next.
   */
  void cleanUp(ClaimedTask task) throws IOException {
    if (!KEEP_WORK) {
      ArtifactStore.deleteTree(workDir(task));
    }
  }

  private Executor chooseExecutor(TaskSpec spec) {
    String name =
        forceExecutor != null ? forceExecutor : spec.image() != null ? "docker" : "process";
    return executors.get(name);
  }

  private Completion collect(ExecutionResult r, Path outputs, Path metrics, Path artifacts) {
    Map<String, String> outs = new LinkedHashMap<>();
    List<Completion.Metric> ms = new ArrayList<>();
    List<Completion.Artifact> arts = new ArrayList<>();
    String problem = null;
    try {
      problem = readOutputs(outputs, outs);
      if (problem == null) {
        problem = readMetrics(metrics, ms);
      }
      if (problem == null) {
        problem = storeArtifacts(artifacts, arts);
      }
    } catch (IOException e) {
      problem = "cannot read the step's results: " + e.getMessage();
    }
    if (problem != null && r.outcome() == Completion.Outcome.SUCCEEDED) {
      return new Completion(
          Completion.Outcome.FAILED, r.exitCode(), problem, outs, ms, arts, r.imageDigest());
    }
    return new Completion(r.outcome(), r.exitCode(), r.error(), outs, ms, arts, r.imageDigest());
  }

  static String readOutputs(Path file, Map<String, String> into) throws IOException {
    if (Files.size(file) > MAX_OUTPUTS_BYTES) {
      return "KILN_OUTPUTS is larger than 1 MiB; write big results as artifacts";
    }
    int n = 0;
    for (String line : Files.readAllLines(file)) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        return "KILN_OUTPUTS line " + n + " is not key=value: '" + abbreviate(line) + "'";
      }
      into.put(line.substring(0, eq).trim(), line.substring(eq + 1));
    }
    return null;
  }

  static String readMetrics(Path file, List<Completion.Metric> into) throws IOException {
    int n = 0;
    try (Stream<String> lines = Files.lines(file)) {
      for (String line : (Iterable<String>) lines::iterator) {
        n++;
        if (n > MAX_METRIC_LINES) {
          return "KILN_METRICS has more than " + MAX_METRIC_LINES + " lines";
        }
        if (line.isBlank()) {
          continue;
        }
        int eq = line.indexOf('=');
        String value = eq > 0 ? line.substring(eq + 1).trim() : "";
        double v;
        try {
          v = Double.parseDouble(value);
        } catch (NumberFormatException e) {
          return "KILN_METRICS line " + n + " is not key=number: '" + abbreviate(line) + "'";
        }
        if (!Double.isFinite(v)) {
          return "KILN_METRICS line " + n + " is not a finite number: '" + abbreviate(line) + "'";
        }
        into.add(new Completion.Metric(line.substring(0, eq).trim(), v));
      }
    }
    return null;
  }

  private String storeArtifacts(Path dir, List<Completion.Artifact> into) throws IOException {
    List<Path> entries;
    try (Stream<Path> s = Files.list(dir)) {
      entries = s.sorted().toList();
    }
    for (Path p : entries) {
      String name = p.getFileName().toString();
      if (Files.isSymbolicLink(p)) {
        return "artifact '" + name + "' is a symbolic link; links could lead out of KILN_ARTIFACTS";
      }
      try {
        ArtifactStore.Stored s = engine.artifacts().put(p);
        into.add(new Completion.Artifact(name, s.sha256(), s.size(), s.kind()));
      } catch (IOException e) {
        return e.getMessage();
      }
    }
    return null;
  }

  /** Makes the artifacts of needed steps readable as KILN_INPUTS/STEP/NAME (copies). */
  private static void linkInputs(TaskSpec spec, Path inputs) throws IOException {
    for (var step : spec.inputs().entrySet()) {
      Path dir = inputs.resolve(step.getKey());
      Files.createDirectories(dir);
      for (var a : step.getValue().entrySet()) {
        copyTree(Path.of(a.getValue()), dir.resolve(a.getKey()));
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(to);
      try (Stream<Path> s = Files.list(from)) {
        for (Path p : (Iterable<Path>) s::iterator) {
          copyTree(p, to.resolve(p.getFileName().toString()));
        }
      }
    } else {
      // A copy, not a link: a step that writes to its input must not change the stored artifact.
      Files.copy(from, to);
    }
  }

  /** Secrets come from the worker's environment: KILN_SECRET_NAME, else NAME. */
  static String resolveSecrets(String text) {
    if (text == null || !text.contains("secrets.")) {
      return text;
    }
    Matcher m = SECRET.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String v = System.getenv("KILN_SECRET_" + name);
      if (v == null) {
        v = System.getenv(name);
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(v == null ? "" : v));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
