package dev.kiln.steps.notify;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.dsl.parse.Units;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.spi.Metrics;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code uses: notify/webhook}: POSTs a JSON message, retried with exponential backoff on network
 * errors, 429 and 5xx. {@code slack: true} sends Slack's incoming-webhook body {@code {"text"}}.
 */
public final class WebhookStep implements BuiltinStep {
  /**
   * Made when the first message is sent, not when the step is loaded: building a client starts TLS
   * (a fifth of a second), and every {@code kiln validate} loads every built-in.
   */
  private static final class Http {
    static final HttpClient CLIENT =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  @Override
  public String name() {
    return "notify/webhook";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "notify/webhook",
        "POSTs a JSON message to a URL (Slack-compatible with slack: true), retrying on failure.",
        List.of(
            WithKey.required("url", Type.STRING, "the http(s) URL"),
            WithKey.optional("message", Type.STRING, "the text (default: the run and step)"),
            WithKey.optional("slack", Type.BOOLEAN, "send {text: message} (default false)"),
            WithKey.optional("data", Type.MAP, "more fields for the JSON body"),
            WithKey.optional("retries", Type.INTEGER, "attempts after the first (default 3)"),
            WithKey.optional(
                "backoff", Type.STRING, "the wait before the first retry, doubling (default 1s)"),
            WithKey.optional("timeout", Type.STRING, "per request (default 10s)")),
        Outputs.of("status", "the HTTP status", "attempts", "requests made"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With w = new With(name(), ctx.with(), ctx.paths());
    URI url;
    String body;
    int retries;
    Duration backoff;
    Duration timeout;
    try {
      String u = w.string("url");
      try {
        url = URI.create(u);
      } catch (IllegalArgumentException e) {
        throw w.bad("url", "'" + u + "' is not a URL");
      }
      if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
        throw w.bad("url", "'" + u + "' is not an http(s) URL");
      }
      retries = w.integer("retries", 3);
      backoff = duration(w, "backoff", Duration.ofSeconds(1));
      timeout = duration(w, "timeout", Duration.ofSeconds(10));
      body = body(w, ctx);
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    }
    // Delivered once per task: a re-run after a lost attempt that had delivered does not post
    // again. Between the POST and its record a lost attempt can still post twice; the
    // Idempotency-Key header (the task id) lets the receiver drop the second.
    var delivered = ctx.engine().sideEffects().find(ctx.task(), name());
    if (delivered.isPresent()) {
      ctx.logs().line("system", "already delivered by an earlier attempt; not posting again");
      return new Completion(
          Completion.Outcome.SUCCEEDED, null, null, delivered.get(), List.of(), List.of());
    }
    CountDownLatch cancelled = new CountDownLatch(1);
    ctx.cancellation().onCancel(cancelled::countDown);
    String last = null;
    for (int attempt = 1; attempt <= retries + 1; attempt++) {
      if (attempt > 1) {
        long wait = backoff.toMillis() << Math.min(attempt - 2, 20);
        ctx.logs().line("system", "retrying in " + wait + " ms: " + last);
        if (cancelled.await(wait, TimeUnit.MILLISECONDS)) {
          return Completion.cancelled(ctx.cancellation().reason());
        }
      }
      HttpRequest req =
          HttpRequest.newBuilder(url)
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .header("Idempotency-Key", "kiln-task-" + ctx.task().id())
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      try {
        HttpResponse<String> resp = Http.CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
        int status = resp.statusCode();
        if (status >= 200 && status < 300) {
          ctx.logs().line("system", "posted to " + url.getHost() + ": HTTP " + status);
          Map<String, String> out =
              Map.of("status", String.valueOf(status), "attempts", String.valueOf(attempt));
          ctx.engine().sideEffects().record(ctx.task(), name(), out);
          Metrics.get().alertSent("webhook", "ok");
          return new Completion(
              Completion.Outcome.SUCCEEDED, null, null, out, List.of(), List.of());
        }
        last = "HTTP " + status;
        if (status != 429 && status < 500) {
          break; // the receiver refused the message; sending it again will not help
        }
      } catch (IOException e) {
        last = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
      }
    }
    Metrics.get().alertSent("webhook", "failed");
    return Completion.failed(name() + ": POST " + url + " failed: " + last);
  }

  private static Duration duration(With w, String field, Duration fallback) throws With.BadInput {
    if (!w.has(field)) {
      return fallback;
    }
    Duration d = Units.parseDuration(w.string(field));
    if (d == null) {
      throw w.bad(field, "'" + w.string(field) + "' is not a duration like 500ms, 2s or 1m");
    }
    return d;
  }

  private static String body(With w, Context ctx) throws With.BadInput {
    String message =
        w.string("message", "kiln run " + ctx.task().runId() + ": " + ctx.task().stepId());
    if (w.bool("slack", false)) {
      return Json.write(Map.of("text", message));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("message", message);
    m.put("run_id", ctx.task().runId());
    m.put("step", ctx.task().stepId());
    m.putAll(w.map("data"));
    return Json.write(m);
  }
}
