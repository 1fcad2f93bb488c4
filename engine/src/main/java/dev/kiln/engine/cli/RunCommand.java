package dev.kiln.engine.cli;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.run.ProcessNames;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run a pipeline to its end in this process.",
      "Steps run on in-process workers; progress is printed as it happens.",
      "Exit 0 when the run succeeded, 1 when it failed or was cancelled,",
      "2 for invalid input (nothing is written to the store).",
      "With --server URL, PIPELINE names a pipeline hosted by that kiln server:",
      "the server starts the run (POST /api/pipelines/PIPELINE/runs) and this",
      "command follows it to its end (GET /api/runs/ID)."
    })
final class RunCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
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
    ParseResult parsed = PipelineParser.parse(file);
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
    KilnConfig config = KilnConfig.fromEnvironment();
    try (Engine engine = Engine.open(config, slots + 4)) {
      String driver = ProcessNames.of("run");
      Long runId = null;
      if (!forceNew) {
        var dead = ProcessNames.deadOnThisHost(engine.leases().drivenRuns().values());
        runId =
            engine
                .leases()
                .takeOverAbandoned(
                    pipeline.source().version(), bound, driver, dead, RunFollower.DRIVER_STALE)
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
          .follow(runId, pipeline, driver);
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
