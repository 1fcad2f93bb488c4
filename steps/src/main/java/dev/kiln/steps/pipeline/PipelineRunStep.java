package dev.kiln.steps.pipeline;

import dev.kiln.dsl.expr.Values;
import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.Params;
import dev.kiln.dsl.parse.PipelineException;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.PipelineSources;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.SideEffects;
import dev.kiln.engine.task.Completion;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code uses: pipeline/run}: starts another pipeline, given as a file ({@code pipeline:
 * path/to.yaml}, relative to the run's folder) or by the name of a pipeline Kiln has run before,
 * and with {@code wait: true} waits for it to end. Outputs {@code run_id} and {@code status}.
 */
public final class PipelineRunStep implements BuiltinStep {
  private static final long POLL_MS = 200;

  @Override
  public String name() {
    return "pipeline/run";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "pipeline/run",
        "Starts a run of another pipeline (a file, or one Kiln has run), optionally waiting for its end.",
        List.of(
            WithKey.required(
                "pipeline",
                Type.STRING,
                "a pipeline file (relative: to the folder the run was started from) or the name of a pipeline Kiln has run"),
            WithKey.optional("params", Type.MAP, "its params"),
            WithKey.optional(
                "wait", Type.BOOLEAN, "wait for its end and fail when it fails (default false)"),
            WithKey.optional(
                "trigger", Type.STRING, "the trigger recorded on the run (default pipeline)")),
        Outputs.of(
            "run_id", "the started run", "status", "its status (its end status with wait: true)"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With w = new With(name(), ctx.with(), ctx.paths());
    Pipeline target;
    Map<String, Object> params;
    boolean wait;
    String trigger;
    try {
      target = load(w, ctx);
      Map<String, String> given = new LinkedHashMap<>();
      w.map("params").forEach((k, v) -> given.put(k, Values.toText(v)));
      try {
        params = Params.bind(target, given);
      } catch (PipelineException e) {
        throw w.bad("params", e.getMessage().lines().findFirst().orElse("invalid"));
      }
      wait = w.bool("wait", false);
      trigger = w.string("trigger", "pipeline");
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
    long runId;
    // Once per task: an attempt re-run after a lost one follows the child run the first started.
    var started = ctx.engine().sideEffects().find(ctx.task(), name());
    if (started.isPresent()) {
      runId = Long.parseLong(started.get().get("run_id"));
      ctx.logs()
          .line("system", "run " + runId + " was started by an earlier attempt; following it");
    } else {
      try {
        runId =
            ctx.engine()
                .runs()
                .createRun(
                    target,
                    params,
                    trigger,
                    ctx.baseDir().toString(),
                    (c, id) ->
                        SideEffects.record(
                            c, ctx.task(), name(), Map.of("run_id", String.valueOf(id))));
      } catch (IllegalArgumentException e) {
        return Completion.failed(
            name() + ": cannot start " + target.name() + ": " + e.getMessage());
      }
      ctx.logs().line("system", "started run " + runId + " of " + target.name());
    }
    if (!wait) {
      return done(runId, "queued", true);
    }
    CountDownLatch cancelled = new CountDownLatch(1);
    ctx.cancellation().onCancel(cancelled::countDown);
    while (true) {
      RunRecord r = ctx.engine().store().run(runId).orElseThrow();
      if (r.status().terminal()) {
        ctx.logs().line("system", "run " + runId + " " + r.status().db());
        return done(runId, r.status().db(), r.status() == RunStatus.SUCCEEDED);
      }
      if (cancelled.await(POLL_MS, TimeUnit.MILLISECONDS)) {
        return Completion.cancelled(ctx.cancellation().reason());
      }
    }
  }

  private Completion done(long runId, String status, boolean ok) {
    return new Completion(
        ok ? Completion.Outcome.SUCCEEDED : Completion.Outcome.FAILED,
        null,
        ok ? null : name() + ": run " + runId + " " + status,
        Map.of("run_id", String.valueOf(runId), "status", status),
        List.of(),
        List.of());
  }

  private Pipeline load(With w, Context ctx) throws With.BadInput {
    String ref = w.string("pipeline");
    Optional<Path> file = w.pathIfExists("pipeline");
    try {
      if (file.isPresent() && Files.isRegularFile(file.get())) {
        return PipelineParser.parse(file.get()).orThrow();
      }
      Optional<PipelineSources.Source> stored = new PipelineSources(ctx.engine().db()).latest(ref);
      if (stored.isEmpty()) {
        throw w.bad("pipeline", "'" + ref + "' is neither a file nor a pipeline Kiln has run");
      }
      String name = stored.get().file() == null ? ref : stored.get().file();
      return PipelineParser.parse(name, stored.get().text()).orThrow();
    } catch (PipelineException e) {
      throw w.bad("pipeline", e.getMessage().lines().findFirst().orElse("invalid pipeline"));
    }
  }
}
