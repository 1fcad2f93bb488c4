package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.run.Reproduction;
import dev.kiln.engine.store.RunRecord;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "reproduce",
    mixinStandardHelpOptions = true,
    description = {
      "Run again what made a model version, and compare the metrics.",
      "Runs the same pipeline version with the same params and dataset versions (pinned:",
      "the files on disk are not read) in this process, then compares the new run's",
      "metrics with the registered ones.",
      "Exit 0 when the run succeeded and every metric matches, 1 otherwise.",
      "The new run is a real run: its register steps add a model version."
    })
final class ReproduceCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME@VERSION")
  String ref;

  @Option(
      names = "--tolerance",
      defaultValue = "1e-9",
      description = "largest absolute difference that still matches (default ${DEFAULT-VALUE})")
  double tolerance;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "steps run at once (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--executor",
      paramLabel = "NAME",
      description = "run every step with this executor")
  String executor;

  @Override
  public Integer call() throws Exception {
    Refs.Ref r = Refs.parse(ref);
    if (slots < 1) {
      throw new UserError("--slots must be at least 1, got " + slots);
    }
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), slots + 4)) {
      ModelVersion v = LineageCommand.find(engine, r);
      Reproduction.Started s;
      try {
        s = Reproduction.start(engine, v);
      } catch (RegistryException e) {
        throw new UserError(e.getMessage());
      }
      System.out.println(
          "reproducing "
              + v.ref()
              + " (run "
              + v.runId()
              + ") as run "
              + s.runId()
              + (s.pinned().isEmpty()
                  ? ""
                  : " with "
                      + String.join(", ", s.pinned().stream().map(DatasetVersion::ref).toList())));
      int code = new RunFollower(engine, false, executor, slots).follow(s.runId(), s.pipeline());
      RunRecord run = engine.store().run(s.runId()).orElseThrow();
      Map<String, Double> now = engine.models().runMetrics(s.runId());
      boolean match = code == Main.OK;
      System.out.printf("%-20s %-14s %-14s %s%n", "METRIC", v.ref(), "run " + s.runId(), "");
      for (String key : new TreeSet<>(v.metrics().keySet())) {
        Double was = v.metrics().get(key);
        Double is = now.get(key);
        boolean same = is != null && Math.abs(is - was) <= tolerance;
        match &= same;
        System.out.printf(
            "%-20s %-14s %-14s %s%n",
            key,
            Refs.number(was),
            is == null ? "missing" : Refs.number(is),
            same ? "same" : "DIFFERS");
      }
      System.out.println(
          match
              ? "reproduced: run "
                  + s.runId()
                  + " "
                  + run.status().db()
                  + " and every metric matches"
              : "not reproduced: run "
                  + s.runId()
                  + " "
                  + run.status().db()
                  + (code == Main.OK ? " but metrics differ" : ""));
      return match ? Main.OK : Main.FAILED;
    }
  }
}
