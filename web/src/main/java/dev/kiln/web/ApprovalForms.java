package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;

import dev.kiln.dsl.model.Action;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Step;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.ArrayList;
import java.util.List;
import org.apache.camel.Exchange;

/** The run page's Approve / Reject forms for approval/wait steps (operators). */
final class ApprovalForms {
  private final Engine engine;

  ApprovalForms(Engine engine) {
    this.engine = engine;
  }

  List<Route> routes() {
    return List.of(
        route(POST, "/runs/{id}/steps/{step}/approve", Role.OPERATOR, e -> decide(e, true)),
        route(POST, "/runs/{id}/steps/{step}/reject", Role.OPERATOR, e -> decide(e, false)));
  }

  /** The run's approval/wait tasks that wait for a decision now. */
  static List<Pages.Waiting> waiting(
      Database db, RunRecord run, Pipeline p, List<TaskRecord> tasks) {
    List<Pages.Waiting> out = new ArrayList<>();
    if (p == null) {
      return out;
    }
    Approvals approvals = new Approvals(db);
    for (TaskRecord t : tasks) {
      Step step = p.steps().get(RunPages.stepOf(t.stepId()));
      if (step != null
          && step.action() instanceof Action.Uses u
          && u.name().equals("approval/wait")
          && (t.status() == StepStatus.QUEUED || t.status() == StepStatus.RUNNING)) {
        Object message = u.with().get("message");
        approvals
            .find(run.id(), t.stepId())
            .filter(a -> a.decision() == null && !a.expired())
            .ifPresent(
                a ->
                    out.add(
                        new Pages.Waiting(
                            t.stepId(),
                            a.deadline(),
                            message instanceof String m && !m.contains("${{") ? m : null)));
      }
    }
    return out;
  }

  /**
   * The Approve / Reject buttons: decides a waiting approval/wait task as the API does, recorded
   * under the signed-in token's name, then shows the task.
   */
  private Reply decide(Exchange e, boolean approve) throws InvalidRequest {
    long id = Req.id(e, "id", "run");
    RunRecord run =
        engine.store().run(id).orElseThrow(() -> new InvalidRequest(404, "no run " + id));
    String task = Req.param(e, "step");
    String reason = Req.param(e, "reason");
    String by = SessionGuard.session(e).who().name();
    Approvals approvals = new Approvals(engine.db());
    String which = "step '" + task + "' of run " + run.id();
    return switch (approvals.decide(
        run.id(), task, approve, by, reason == null || reason.isBlank() ? null : reason.trim())) {
      case DONE -> Views.redirect("/runs/" + run.id() + "?task=" + Html.query(task) + "#task");
      case ALREADY -> {
        Approvals.State s = approvals.find(run.id(), task).orElseThrow();
        throw new InvalidRequest(
            409, which + " was already " + s.decision() + " by " + s.decidedBy());
      }
      case EXPIRED -> throw new InvalidRequest(409, which + " timed out waiting");
      case NOT_WAITING -> throw new InvalidRequest(409, which + " is not waiting for approval");
    };
  }
}
