package dev.kiln.steps.approval;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.dsl.parse.Units;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code uses: approval/wait}: pauses the run until someone runs {@code kiln approve RUN STEP} (or
 * POSTs .../approve), fails it on {@code kiln reject} or when {@code timeout} passes. The request
 * and decision live in the store, so a worker that dies while waiting loses nothing: the next
 * attempt finds the same request, deadline and decision.
 */
public final class ApprovalWaitStep implements BuiltinStep {
  private static final long POLL_MS = 500;

  @Override
  public String name() {
    return "approval/wait";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "approval/wait",
        "Pauses the run until `kiln approve RUN STEP` (the approver is recorded); fails on `kiln reject` or when the timeout passes.",
        List.of(
            WithKey.optional(
                "timeout",
                Type.STRING,
                "how long to wait, e.g. 30m, 24h (default: until decided or the run is cancelled)"),
            WithKey.optional(
                "message", Type.STRING, "what the approver is asked, shown in the step's log")),
        Outputs.of(
            "approved_by", "who approved (the token's name, or KILN_USER / the OS user)",
            "reason", "the approver's --reason, empty when none"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With w = new With(name(), ctx.with(), ctx.paths());
    Duration timeout = null;
    try {
      if (w.has("timeout")) {
        timeout = Units.parseDuration(w.string("timeout"));
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
          throw w.bad("timeout", "'" + w.string("timeout") + "' is not a duration like 30m or 24h");
        }
      }
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
    long run = ctx.task().runId();
    String step = ctx.task().stepId();
    Approvals approvals = new Approvals(ctx.engine().db());
    Approvals.State s = approvals.request(run, step, timeout);
    String message = w.string("message", null);
    if (message != null) {
      ctx.logs().line("system", message);
    }
    ctx.logs()
        .line(
            "system",
            "waiting for approval"
                + (s.deadline() == null ? "" : " until " + s.deadline())
                + ": kiln approve "
                + run
                + " "
                + step
                + " (or kiln reject)");
    CountDownLatch cancelled = new CountDownLatch(1);
    ctx.cancellation().onCancel(cancelled::countDown);
    while (true) {
      if (s.decision() != null) {
        return decided(s);
      }
      if (s.expired()) {
        return Completion.invalid(
            name() + ": not approved within " + (timeout == null ? "its timeout" : text(timeout)));
      }
      if (cancelled.await(POLL_MS, TimeUnit.MILLISECONDS)) {
        return Completion.cancelled(ctx.cancellation().reason());
      }
      s = approvals.find(run, step).orElseThrow();
    }
  }

  private Completion decided(Approvals.State s) {
    String reason = s.reason() == null ? "" : s.reason();
    if (!s.approved()) {
      // Rejected is a decision, not a fault: no retry would change it.
      return Completion.invalid(
          name() + ": rejected by " + s.decidedBy() + (reason.isEmpty() ? "" : ": " + reason));
    }
    Map<String, String> out = new LinkedHashMap<>();
    out.put("approved_by", s.decidedBy());
    out.put("reason", reason);
    return new Completion(Completion.Outcome.SUCCEEDED, null, null, out, List.of(), List.of());
  }

  private static String text(Duration d) {
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
  }
}
