package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.store.Approvals;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;

/** Approves or rejects a waiting {@code approval/wait} step, recorded under the token's name. */
final class ApprovalsApi {
  private final Engine engine;
  private final ModelsApi.Who who;

  ApprovalsApi(Engine engine, ModelsApi.Who who) {
    this.engine = engine;
    this.who = who;
  }

  List<Route> routes() {
    return List.of(
        route(POST, "/api/runs/{id}/steps/{step}/approve", Role.OPERATOR, e -> decide(e, true)),
        route(POST, "/api/runs/{id}/steps/{step}/reject", Role.OPERATOR, e -> decide(e, false)));
  }

  /** Body {@code {"reason": "..."}} (optional). */
  private Reply decide(Exchange e, boolean approve) throws InvalidRequest {
    Request r = Request.of(e);
    long id = RunsApi.run(engine, r).id();
    String step = r.path("step");
    JsonNode why = r.jsonBody().path("reason");
    if (!why.isMissingNode() && !why.isNull() && !why.isTextual()) {
      throw new InvalidRequest(400, "'reason' must be text");
    }
    String reason = why.isTextual() ? why.asText() : null;
    String by = who.of(e.getIn().getHeader("Authorization", String.class));
    Approvals approvals = new Approvals(engine.db());
    return switch (approvals.decide(id, step, approve, by, reason)) {
      case DONE -> {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run_id", id);
        out.put("step", step);
        out.put("decision", approve ? "approved" : "rejected");
        out.put("by", by);
        yield new Reply(200, out);
      }
      case ALREADY -> {
        Approvals.State s = approvals.find(id, step).orElseThrow();
        throw new InvalidRequest(
            409, "step '" + step + "' was already " + s.decision() + " by " + s.decidedBy());
      }
      case EXPIRED -> throw new InvalidRequest(409, "step '" + step + "' timed out waiting");
      case NOT_WAITING -> throw notWaiting(id, step);
    };
  }

  /** 404 for a step with no task in the run (unknown, or not started yet), else 409. */
  private InvalidRequest notWaiting(long id, String step) {
    return engine.store().tasks(id).stream()
        .filter(t -> t.stepId().equals(step))
        .findFirst()
        .map(
            t ->
                new InvalidRequest(
                    409,
                    "step '"
                        + step
                        + "' of run "
                        + id
                        + " is not waiting for approval (it is "
                        + t.status().db()
                        + ")"))
        .orElseGet(
            () -> new InvalidRequest(404, "no step '" + step + "' has started in run " + id));
  }
}
