package dev.kiln.engine.cli;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.Leases;
import dev.kiln.engine.run.ProcessNames;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.RunRecord;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run a pipeline to its end in this process.",
      "Steps run on in-process workers; progress is printed as it happens.",
      "Exit 0 when the run succeeded, 1 when it failed or was cancelled,",
      "2 for invalid input (nothing is written to the store), 130 when",
      "interrupted (Ctrl-C or SIGTERM: the run is cancelled, its steps stopped).",
      "Its workers take only this run's steps unless --serve-queue.",
      "With --server URL, PIPELINE names a pipeline hosted by that kiln server:",
      "the server starts the run (POST /api/pipelines/PIPELINE/runs) and this",
      "command follows it to its end (GET /api/runs/ID)."
    })
final class RunCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "FILE",
      description = "the pipeline YAML file (with --server: the pipeline's name)")
  Path file;

  @Option(
      names = "--server",
      paramLabel = "URL",
      description = {
        "start the run on this kiln server, e.g. http://localhost:8080;",
        "the token in KILN_TOKEN (role operator or admin) authenticates"
      })
  String server;

  @Option(
      names = {"-p", "--param"},
      paramLabel = "KEY=VALUE",
      description = "set a pipeline param (repeatable)")
  List<String> params = List.of();

  @Option(
      names = "--tag",
      paramLabel = "KEY=VALUE",
      description = {
        "tag the run (repeatable), as 'kiln runs tag' does;",
        "'kiln runs --tag' finds runs by tag"
      })
  List<String> tags = List.of();

  @Option(names = "--json", description = "print the run summary as JSON on stdout")
  boolean json;

  @Option(
      names = "--slots",
      defaultValue = "4",
      description = "steps run at once by this process (default ${DEFAULT-VALUE})")
  int slots;

  @Option(
      names = "--new",
      description = {
        "always start a new run; by default an unfinished run of",
        "the same pipeline version and params whose kiln run process died is continued"
      })
  boolean forceNew;

  @Option(
      names = "--continue",
      paramLabel = "RUN",
      description = {
        "drive this unfinished run to its end (FILE is not needed): one whose kiln run",
        "process died, or that nothing runs; refused while its driver is alive"
      })
  Long continueRun;

  @Option(
      names = "--serve-queue",
      description = {
        "also run other runs' steps from the queue while this run lasts (as 'kiln worker');",
        "those still running when this run ends are finished before the command exits"
      })
  boolean serveQueue;

  @Option(
      names = "--no-cache",
      description = {
        "steps with cache: true run instead of taking a",
        "cached result; their successes are recorded as the newest entries"
      })
  boolean noCache;

  @Option(
      names = "--executor",
      paramLabel = "NAME",
      description = "run every step with this executor (process), e.g. on machines without Docker")
  String executor;

  @Mixin DataRootOption dataRoots;

  @Option(
      names = "--allow-host-network",
      description = "let container steps use 'network: host' (refused otherwise; docs/security.md)")
  boolean allowHostNetwork;

  @Override
  public Integer call() throws Exception {
    if (allowHostNetwork) {
      // Read by the docker executor (workers), which the engine does not import.
      System.setProperty("kiln.allowHostNetwork", "true");
    }
    if (continueRun != null) {
      return continueRun();
    }
    if (file == null) {
      throw new UserError("FILE is missing: kiln run FILE (or kiln run --continue RUN)");
    }
    if (server != null) {
      if (!tags.isEmpty()) {
        throw new UserError(
            "--tag is not supported with --server yet; tag the run afterwards"
                + " with 'kiln runs tag RUN KEY=VALUE'");
      }
      if (noCache) {
        throw new UserError("--no-cache is not supported with --server: the server starts the run");
      }
      return new RemoteRun(server, json).run(file.toString(), parseParams(params));
    }
    ParseResult parsed = PipelineParser.parse(file, BuiltinStep.catalogue());
    if (!parsed.ok()) {
      parsed.problems().forEach(p -> System.err.println(p));
      return Main.USAGE;
    }
    Pipeline pipeline = parsed.pipeline();
    Map<String, Object> bound;
    try {
      bound = Params.bind(pipeline, parseParams(params));
    } catch (PipelineException e) {
      for (Problem p : e.problems()) {
        System.err.println(file + ": " + p.message());
      }
      return Main.USAGE;
    }
    if (slots < 1) {
      throw new UserError("--slots must be at least 1, got " + slots);
    }
    Map<String, String> runTags = pairs(tags, "--tag");
    KilnConfig config = dataRoots.config();
    try (Engine engine = Engine.open(config, slots + 4)) {
      String driver = ProcessNames.of("run");
      Long runId = null;
      if (!forceNew) {
        var dead = ProcessNames.deadOnThisHost(engine.leases().drivenRuns().values());
        runId =
            engine
                .leases()
                .takeOverAbandoned(pipeline, bound, driver, dead, Leases.DRIVER_STALE)
                .orElse(null);
        if (runId != null) {
          (json ? System.err : System.out)
              .println(
                  "continuing run "
                      + runId
                      + ": the kiln run process that drove it stopped (use --new for a fresh run)");
          if (!runTags.isEmpty()) {
            engine.experiments().tag(runId, runTags, List.of());
          }
        }
      }
      if (runId == null) {
        runId =
            engine
                .runs()
                .createRun(
                    pipeline,
                    bound,
                    "manual",
                    Path.of("").toAbsolutePath().toString(),
                    driver,
                    runTags,
                    noCache);
      } else if (noCache) {
        engine.runs().bypassCache(runId);
      }
      return new RunFollower(engine, json, executor, slots, noCache)
          .serveQueue(serveQueue)
          .follow(runId, pipeline, driver);
    }
  }

  /** {@code --continue RUN}: become the driver of a run whose driver is gone, and follow it. */
  private int continueRun() throws Exception {
    if (file != null || server != null || !params.isEmpty() || forceNew) {
      throw new UserError(
          "--continue RUN takes the run's own pipeline and params: give no FILE, -p, --server"
              + " or --new");
    }
    if (slots < 1) {
      throw new UserError("--slots must be at least 1, got " + slots);
    }
    try (Engine engine = Engine.open(dataRoots.config(), slots + 4)) {
      RunRecord run =
          engine
              .store()
              .run(continueRun)
              .orElseThrow(() -> new UserError("no run " + continueRun + " (see 'kiln runs')"));
      if (run.status().terminal()) {
        throw new UserError(
            "run "
                + continueRun
                + " already "
                + run.status().db()
                + "; 'kiln retry "
                + continueRun
                + "' runs what did not succeed again");
      }
      String driver = ProcessNames.of("run");
      var dead = ProcessNames.deadOnThisHost(engine.leases().drivenRuns().values());
      String inTheWay =
          engine
              .leases()
              .continueRun(continueRun, driver, dead, Leases.DRIVER_STALE)
              .orElseThrow(() -> new UserError("no run " + continueRun + " (see 'kiln runs')"));
      if (!inTheWay.isEmpty()) {
        throw new UserError(
            "run "
                + continueRun
                + " is driven by "
                + inTheWay
                + ", which is alive; follow it with"
                + " 'kiln logs -f "
                + continueRun
                + "' or stop it with 'kiln cancel "
                + continueRun
                + "'");
      }
      if (!tags.isEmpty()) {
        engine.experiments().tag(continueRun, pairs(tags, "--tag"), List.of());
      }
      if (noCache) {
        engine.runs().bypassCache(continueRun);
      }
      (json ? System.err : System.out).println("continuing run " + continueRun + " (--continue)");
      return new RunFollower(engine, json, executor, slots, noCache)
          .serveQueue(serveQueue)
          .follow(continueRun, engine.runs().pipeline(run.pipelineVersion()), driver);
    }
  }

  static Map<String, String> parseParams(List<String> given) {
    return pairs(given, "-p");
  }

  /** KEY=VALUE arguments of {@code option}, in the order given; a later KEY wins. */
  static Map<String, String> pairs(List<String> given, String option) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : given) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new UserError(option + " expects KEY=VALUE, got '" + kv + "'");
      }
      out.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return out;
  }
}
