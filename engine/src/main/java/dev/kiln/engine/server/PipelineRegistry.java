package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.dsl.parse.Catalogue;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.spi.BuiltinStep;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The pipelines a server hosts: the last valid version of every pipeline file under its folder. An
 * invalid edit is reported and the last good version stays active; a deleted file takes its
 * pipeline (and its triggers) away.
 */
final class PipelineRegistry {
  /** The built-in steps hosted pipelines are checked against when (re)loaded. */
  private final Catalogue builtins = BuiltinStep.catalogue();

  /** A webhook path and the pipeline it starts. */
  record Hook(String pipeline, Trigger.Webhook trigger) {}

  /** Told about every pipeline that appeared, changed or went away. */
  interface Listener {
    void changed(Pipeline previous, Pipeline current);

    void removed(Pipeline previous);
  }

  private static final Pattern NAME_KEY = Pattern.compile("(?m)^name\\s*:");
  private static final Pattern STEPS_KEY = Pattern.compile("(?m)^steps\\s*:");

  private final Path root;
  private final PrintStream report;
  private final Listener listener;
  private final Map<Path, Pipeline> byFile = new HashMap<>();
  private volatile Map<String, Pipeline> byName = Map.of();
  private volatile Map<String, Hook> hooks = Map.of();

  PipelineRegistry(Path root, PrintStream report, Listener listener) {
    this.root = root.toAbsolutePath().normalize();
    this.report = report;
    this.listener = listener;
  }

  Path root() {
    return root;
  }

  /** Loads every pipeline file under the folder; returns how many are active. */
  int loadAll() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(root)) {
      files = s.filter(PipelineRegistry::looksLikeYaml).sorted().toList();
    }
    for (Path f : files) {
      load(f);
    }
    return byName.size();
  }

  static boolean looksLikeYaml(Path p) {
    String n = p.getFileName().toString();
    return Files.isRegularFile(p)
        && (n.endsWith(".yaml") || n.endsWith(".yml"))
        && !p.toString().contains("/.kiln/");
  }

  /**
   * (Re)loads one file; a file without top-level {@code name} and {@code steps} is not a pipeline.
   */
  synchronized void load(Path file) {
    Path abs = file.toAbsolutePath().normalize();
    if (abs.toString().contains("/.kiln/")) {
      return; // processed and failed files of a files trigger
    }
    String text;
    try {
      text = Files.readString(abs, StandardCharsets.UTF_8);
    } catch (IOException e) {
      report.println("kiln server: cannot read " + abs + ": " + e.getMessage());
      return;
    }
    if (!NAME_KEY.matcher(text).find() || !STEPS_KEY.matcher(text).find()) {
      return;
    }
    ParseResult parsed = PipelineParser.parse(abs, builtins);
    Pipeline previous = byFile.get(abs);
    if (!parsed.ok()) {
      parsed.problems().forEach(p -> report.println(p));
      report.println(
          "kiln server: "
              + abs
              + " is invalid; "
              + (previous == null
                  ? "not loaded"
                  : "keeping the last valid version of " + previous.name()));
      return;
    }
    Pipeline p = parsed.pipeline();
    if (previous != null && previous.source().version().equals(p.source().version())) {
      return;
    }
    Pipeline sameName = byName.get(p.name());
    if (sameName != null && !Path.of(sameName.source().file()).equals(abs)) {
      report.println(
          "kiln server: "
              + abs
              + ": pipeline '"
              + p.name()
              + "' is already defined by "
              + sameName.source().file()
              + "; not loaded");
      return;
    }
    for (Trigger t : p.triggers()) {
      if (t instanceof Trigger.Webhook w) {
        Hook other = hooks.get(w.path());
        if (other != null && !other.pipeline().equals(p.name())) {
          report.println(
              "kiln server: "
                  + abs
                  + ": webhook path '"
                  + w.path()
                  + "' is already used by pipeline '"
                  + other.pipeline()
                  + "'; not loaded");
          return;
        }
      }
    }
    byFile.put(abs, p);
    Map<String, Pipeline> names = new HashMap<>(byName);
    if (previous != null) {
      names.remove(previous.name());
    }
    names.put(p.name(), p);
    publish(names);
    report.println(
        "kiln server: "
            + (previous == null ? "loaded " : "reloaded ")
            + p.name()
            + " from "
            + abs
            + " ("
            + p.steps().size()
            + " steps, "
            + p.triggers().size()
            + " triggers)");
    listener.changed(previous, p);
  }

  /** Unloads the pipelines whose files are gone; returns how many. */
  synchronized int unloadDeleted() {
    List<Path> gone = byFile.keySet().stream().filter(f -> !Files.exists(f)).sorted().toList();
    for (Path f : gone) {
      Pipeline previous = byFile.remove(f);
      Map<String, Pipeline> names = new HashMap<>(byName);
      names.remove(previous.name());
      publish(names);
      report.println(
          "kiln server: unloaded "
              + previous.name()
              + ": "
              + f
              + " was deleted"
              + " (runs already started go on)");
      listener.removed(previous);
    }
    return gone.size();
  }

  private void publish(Map<String, Pipeline> names) {
    Map<String, Hook> paths = new HashMap<>();
    for (Pipeline each : names.values()) {
      for (Trigger t : each.triggers()) {
        if (t instanceof Trigger.Webhook w) {
          paths.put(w.path(), new Hook(each.name(), w));
        }
      }
    }
    byName = Map.copyOf(names);
    hooks = Map.copyOf(paths);
  }

  Pipeline pipeline(String name) {
    return byName.get(name);
  }

  Hook hook(String path) {
    return hooks.get(path);
  }

  Map<String, Pipeline> all() {
    return byName;
  }
}
