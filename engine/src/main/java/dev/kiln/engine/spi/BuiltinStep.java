package dev.kiln.engine.spi;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.parse.Catalogue;
import dev.kiln.engine.Engine;
import dev.kiln.engine.store.ClaimedTask;
import dev.kiln.engine.task.Completion;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * A step run in the worker itself ({@code uses: dataset/version}). Registered by its name through
 * {@link ServiceLoader}; implementations live in the workers module.
 */
public interface BuiltinStep {
  /** The name pipelines use, e.g. "dataset/version". */
  String name();

  /**
   * What it declares about its {@code with:} keys (name, type, required, description) and its
   * outputs; pipelines are checked against it before any work, and docs/steps.md is made from it.
   * The default declares nothing, so any {@code with:} key is accepted.
   */
  default BuiltinSpec spec() {
    return BuiltinSpec.undeclared(name());
  }

  /**
   * Runs the step. A problem with the step's inputs is a FAILED completion with a one-line error,
   * not an exception.
   */
  Completion run(Context context) throws Exception;

  /**
   * What a built-in step gets: its resolved inputs, a scratch folder, the engine's stores, and
   * {@code paths}, through which every file named in {@code with:} is resolved and confined.
   */
  record Context(
      ClaimedTask task,
      Map<String, Object> with,
      Path workDir,
      StepPaths paths,
      LogSink logs,
      Cancellation cancellation,
      Engine engine) {
    /** The folder the run was started from (not a licence to read there: use {@link #paths}). */
    public Path baseDir() {
      return paths.base();
    }
  }

  /** Every built-in step on the class path, by name. */
  static Map<String, BuiltinStep> all() {
    Map<String, BuiltinStep> out = new TreeMap<>();
    ServiceLoader.load(BuiltinStep.class).forEach(b -> out.put(b.name(), b));
    return out;
  }

  /** The specs of every built-in step on the class path, to check pipelines against. */
  static Catalogue catalogue() {
    return Catalogue.of(all().values().stream().map(BuiltinStep::spec).toList());
  }

  static List<String> names() {
    return List.copyOf(all().keySet());
  }
}
