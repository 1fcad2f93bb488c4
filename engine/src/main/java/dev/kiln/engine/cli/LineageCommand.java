package dev.kiln.engine.cli;

import dev.kiln.engine.Engine;
import dev.kiln.engine.registry.DatasetVersion;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.store.RunRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "lineage",
    mixinStandardHelpOptions = true,
    description = {
      "Print what a model version was made from.",
      "Its artifact, run, pipeline version, git commit, params, the dataset versions the",
      "run read and the image digests of its steps."
    })
final class LineageCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME@VERSION")
  String ref;

  @Override
  public Integer call() {
    Refs.Ref r = Refs.parse(ref);
    try (Engine e = ModelsCommand.open()) {
      ModelVersion v = find(e, r);
      for (String line : tree(e, v)) {
        System.out.println(line);
      }
      return Main.OK;
    }
  }

  static ModelVersion find(Engine e, Refs.Ref r) {
    ModelsCommand.requireModel(e, r.name());
    return e.models()
        .get(r.name(), r.version())
        .orElseThrow(
            () ->
                new UserError(
                    "model '"
                        + r.name()
                        + "' has no version "
                        + r.version()
                        + " (see 'kiln models show "
                        + r.name()
                        + "')"));
  }

  static List<String> tree(Engine e, ModelVersion v) {
    List<String> out = new ArrayList<>();
    out.add(
        v.ref()
            + "  (registered "
            + ModelsCommand.TIME.format(v.createdAt())
            + " by "
            + v.createdBy()
            + ")");
    out.add(
        "├── artifact sha256:"
            + v.artifactSha256()
            + " ("
            + v.artifactKind()
            + ", "
            + v.artifactSize()
            + " bytes)");
    out.add("├── metrics " + Refs.metrics(v.metrics()));
    if (!v.tags().isEmpty()) {
      out.add("├── tags " + Refs.map(v.tags()));
    }
    if (v.runId() == null) {
      out.add("└── run: none (registered outside a run)");
      return out;
    }
    RunRecord run = e.store().run(v.runId()).orElse(null);
    out.add(
        "└── run "
            + v.runId()
            + (run == null
                ? ""
                : " ("
                    + run.pipeline()
                    + ", "
                    + run.status().db()
                    + ", trigger "
                    + run.trigger()
                    + ", step "
                    + v.stepId()
                    + ")"));
    out.add("    ├── pipeline version " + v.pipelineVersion());
    out.add(
        "    ├── git commit "
            + (v.gitCommit() == null
                ? "unknown (the pipeline is not in a git repository)"
                : v.gitCommit()));
    out.add("    ├── params " + Refs.map(v.params()));
    List<DatasetVersion> reads = e.datasets().readsOf(v.runId());
    out.add("    ├── datasets read" + (reads.isEmpty() ? ": none recorded" : ""));
    for (int i = 0; i < reads.size(); i++) {
      DatasetVersion d = reads.get(i);
      out.add(
          "    │   "
              + (i == reads.size() - 1 ? "└── " : "├── ")
              + d.ref()
              + " sha256:"
              + Refs.shortSha(d.sha256())
              + (d.rows() == null ? "" : " " + d.rows() + " rows")
              + (d.sourcePath() == null ? "" : " from " + d.sourcePath()));
    }
    Map<String, String> images = e.models().imageDigests(v.runId());
    out.add(
        "    └── images"
            + (images.isEmpty() ? ": none (every step ran as a local process or built-in)" : ""));
    int i = 0;
    for (var en : images.entrySet()) {
      out.add(
          "        "
              + (++i == images.size() ? "└── " : "├── ")
              + en.getKey()
              + " "
              + en.getValue());
    }
    return out;
  }
}
