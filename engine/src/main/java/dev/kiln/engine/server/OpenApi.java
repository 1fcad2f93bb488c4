package dev.kiln.engine.server;

import dev.kiln.engine.server.Routes.Method;
import dev.kiln.engine.server.Routes.Route;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenAPI 3.1 document of the server, generated from its route table: every route's path,
 * method, path parameters and role come from the table; what a route means (summary, query
 * parameters, body, answer) from {@link #DOCS}. A route without an entry there is still listed,
 * marked undocumented, and {@code OpenApiTest} fails on it.
 */
final class OpenApi {
  record Param(String name, String type, String description) {}

  /** What a route means. {@code produces}: content type of a 2xx answer; body: a JSON body. */
  record Doc(String tag, String summary, String produces, String body, List<Param> query) {
    Doc(String tag, String summary) {
      this(tag, summary, Routes.JSON, null, List.of());
    }

    Doc query(Param... ps) {
      return new Doc(tag, summary, produces, body, List.of(ps));
    }

    Doc produces(String type) {
      return new Doc(tag, summary, type, body, query);
    }

    Doc body(String description) {
      return new Doc(tag, summary, produces, description, query);
    }
  }

  static Param q(String name, String type, String description) {
    return new Param(name, type, description);
  }

  static final Map<String, Doc> DOCS = new LinkedHashMap<>();

  private static void doc(String key, Doc d) {
    DOCS.put(key, d);
  }

  static {
    doc("GET /health", new Doc("server", "Liveness: {\"status\":\"ok\"} and nothing else"));
    doc(
        "GET /metrics",
        new Doc("server", "Prometheus text format (docs/metrics.md)")
            .produces(ServerMetrics.CONTENT_TYPE));
    doc("GET /api/openapi.json", new Doc("server", "This document"));
    doc(
        "GET /api/docs",
        new Doc("server", "The rendered API reference (Swagger UI)").produces("text/html"));
    doc(
        "GET /api/docs/{file}",
        new Doc("server", "A static file of the API reference page").produces("*/*"));
    doc(
        "POST /hooks/{path}",
        new Doc("triggers", "A webhook: starts its pipeline's run (its own authentication)")
            .body("the event; JSON, or a form with a 'payload' field"));
    doc(
        "POST /api/pipelines/{name}/runs",
        new Doc("runs", "Start a run of a hosted pipeline: 202 {\"run_id\": N}")
            .body(
                "the params object; an Idempotency-Key header makes a retry return the same run"));
    doc(
        "GET /api/runs",
        new Doc("runs", "Runs, newest first, one page: {\"runs\": [...], \"next\": cursor|null}")
            .query(
                q("pipeline", "string", "only runs of this pipeline"),
                q("status", "string", "queued, running, succeeded, failed or cancelled"),
                q("tag", "string", "KEY:VALUE[,KEY:VALUE...]: runs having all of these tags"),
                q("limit", "integer", "page size, 1 to 500 (default 50)"),
                q("cursor", "string", "the 'next' of the previous page")));
    doc(
        "GET /api/features/online",
        new Doc(
                "features",
                "A feature service's online values for one or more entities:"
                    + " {\"features\": {...}, \"status\": {...}} (present, missing, outside_ttl)")
            .query(
                q("service", "string", "the feature service"),
                q("KEY", "string", "a join key and its value; repeat a key for several entities")));
    doc("GET /api/runs/{id}", new Doc("runs", "The run summary (as kiln run --json)"));
    doc("POST /api/runs/{id}/cancel", new Doc("runs", "Cancel a run (409 when it already ended)"));
    doc(
        "POST /api/runs/{id}/retry",
        new Doc(
            "runs", "Retry a failed or cancelled run: 202 {\"run_id\": new, \"retry_of\": id}"));
    doc(
        "POST /api/runs/{id}/tags",
        new Doc("runs", "Set and remove tags of a run")
            .body("{\"set\": {\"key\": \"value\"}, \"remove\": [\"key\"]}"));
    doc(
        "GET /api/runs/{id}/compare",
        new Doc("runs", "Runs side by side: params, tags, each metric's last value")
            .query(q("with", "string", "the other run ids, comma-separated (required)")));
    doc(
        "GET /api/runs/{id}/events",
        new Doc("runs", "Status changes of the run and its steps")
            .query(q("after", "integer", "only events after this event id")));
    doc(
        "POST /api/runs/{id}/steps/{step}/approve",
        new Doc(
                "runs",
                "Let a waiting approval/wait step go on, recorded under the token's name (404 for"
                    + " an unknown run or a step that has not started, 409 when the step is not"
                    + " waiting, already decided or timed out)")
            .body("{\"reason\": \"...\"}"));
    doc(
        "POST /api/runs/{id}/steps/{step}/reject",
        new Doc("runs", "Fail a waiting approval/wait step (as approve)")
            .body("{\"reason\": \"...\"}"));
    doc("GET /api/runs/{id}/metrics", new Doc("runs", "Metrics the run's steps wrote, by step"));
    doc(
        "GET /api/runs/{id}/tasks/{task}/attempts",
        new Doc("runs", "Attempts of a task (of every task of a matrix step)"));
    doc(
        "GET /api/runs/{id}/logs/{task}",
        new Doc(
                "runs",
                "A task's log: text/plain streamed; format=json one page; follow=true server-sent"
                    + " events (event 'line', then 'end' when the task is settled)")
            .produces("text/plain")
            .query(
                q("format", "string", "text (default) or json"),
                q("follow", "boolean", "stream new lines as server-sent events until the end"),
                q("after", "integer", "only lines after this line id"),
                q("limit", "integer", "format=json: page size, 1 to 10000 (default 1000)")));
    doc("GET /api/runs/{id}/artifacts", new Doc("runs", "Artifacts of the run's steps"));
    doc(
        "GET /api/runs/{id}/artifacts/{step}/{name}",
        new Doc(
                "runs",
                "Download an artifact (streamed): a file as it is, a folder as a zip (NAME.zip)")
            .produces("application/octet-stream"));
    doc("GET /api/pipelines", new Doc("pipelines", "The pipelines this server hosts"));
    doc(
        "GET /api/pipelines/{name}",
        new Doc("pipelines", "A pipeline: params (typed), steps, triggers"));
    doc(
        "GET /api/pipelines/{name}/yaml",
        new Doc("pipelines", "A pipeline's YAML as loaded").produces("application/yaml"));
    doc(
        "GET /api/pipelines/{name}/triggers",
        new Doc("pipelines", "Triggers, with the next fire times of each cron")
            .query(q("count", "integer", "fire times per cron, 1 to 100 (default 5)")));
    doc(
        "GET /api/pipelines/{name}/firings",
        new Doc("pipelines", "Recent trigger firings: runs started and firings skipped")
            .query(q("limit", "integer", "1 to 500 (default 50)")));
    doc("GET /api/models", new Doc("models", "Models with their number of versions and aliases"));
    doc(
        "GET /api/models/{name}",
        new Doc("models", "A model: its versions with metrics, and its aliases"));
    doc("GET /api/models/{name}/versions/{version}", new Doc("models", "One model version"));
    doc(
        "GET /api/models/{name}/versions/{version}/lineage",
        new Doc("models", "Lineage: run, pipeline version, git commit, datasets read, images"));
    doc(
        "GET /api/models/{name}/aliases/{alias}/history",
        new Doc("models", "Every move of an alias, newest first"));
    doc(
        "POST /api/models/{name}/aliases/{alias}",
        new Doc("models", "Promote: point the alias at a version (admin), audited")
            .body("{\"version\": N, \"reason\": \"...\"}"));
    doc(
        "POST /api/models/{name}/aliases/{alias}/rollback",
        new Doc("models", "Roll back: move the alias to the version it held before (admin)")
            .body("{\"reason\": \"...\"}"));
    doc("GET /api/datasets", new Doc("datasets", "Data sets with their latest version"));
    doc("GET /api/datasets/{name}", new Doc("datasets", "Every version of a data set"));
    doc(
        "GET /api/datasets/{name}/versions/{version}",
        new Doc("datasets", "One data set version with its schema and row count"));
    doc("GET /api/monitors", new Doc("monitoring", "Monitors as their newest report left them"));
    doc(
        "GET /api/monitors/{name}/reports",
        new Doc("monitoring", "A monitor's reports, newest first, with per-column values")
            .query(q("limit", "integer", "1 to 500 (default 50)")));
    doc(
        "GET /api/monitors/{name}/incidents",
        new Doc("monitoring", "A monitor's incidents, newest first"));
    doc("GET /api/drift/reports/{id}", new Doc("monitoring", "One stored report in full"));
    doc("GET /api/tokens", new Doc("tokens", "API tokens: names, roles, dates; never a token"));
    doc(
        "POST /api/tokens",
        new Doc("tokens", "Create a token: 201 with the token, shown this once")
            .body("{\"name\": \"...\", \"role\": \"viewer|operator|admin\"}"));
    doc(
        "POST /api/tokens/{name}/revoke",
        new Doc("tokens", "Revoke the active token of this name"));
  }

  private static final Pattern PATH_PARAM = Pattern.compile("\\{([a-zA-Z]+)}");

  static String key(Route r) {
    return r.method() + " " + r.path();
  }

  /** The document for these routes. */
  static Map<String, Object> document(List<Route> routes) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("openapi", "3.1.0");
    doc.put(
        "info",
        Map.of(
            "title",
            "Kiln server API",
            "version",
            "1",
            "description",
            "Every /api/ request carries 'Authorization: Bearer TOKEN' (kiln tokens create);"
                + " writes take Content-Type: application/json. Each operation names the least"
                + " role it needs (x-kiln-role). Errors: {\"error\": \"...\", \"status\": N}."));
    Map<String, Map<String, Object>> paths = new TreeMap<>();
    for (Route r : routes) {
      paths
          .computeIfAbsent(r.path(), p -> new LinkedHashMap<>())
          .put(r.method().name().toLowerCase(Locale.ROOT), operation(r));
    }
    doc.put("paths", paths);
    Map<String, Object> components = new LinkedHashMap<>();
    components.put(
        "securitySchemes",
        Map.of("bearer", Map.of("type", "http", "scheme", "bearer", "bearerFormat", "kiln_...")));
    components.put(
        "schemas",
        Map.of(
            "Error",
            Map.of(
                "type",
                "object",
                "required",
                List.of("error", "status"),
                "properties",
                Map.of(
                    "error", Map.of("type", "string"),
                    "status", Map.of("type", "integer")))));
    doc.put("components", components);
    return doc;
  }

  private static Map<String, Object> operation(Route r) {
    Doc d = DOCS.getOrDefault(key(r), new Doc("undocumented", "undocumented"));
    Map<String, Object> op = new LinkedHashMap<>();
    op.put("operationId", r.id());
    op.put("tags", List.of(d.tag()));
    op.put("summary", d.summary());
    if (r.role() != null) {
      op.put("description", "Needs a token of role " + r.role().db() + " or above.");
      op.put("x-kiln-role", r.role().db());
      op.put("security", List.of(Map.of("bearer", List.of())));
    } else {
      op.put("description", "Open: " + r.openBecause() + ".");
      op.put("security", List.of());
    }
    List<Map<String, Object>> params = new ArrayList<>();
    Matcher m = PATH_PARAM.matcher(r.path());
    while (m.find()) {
      String name = m.group(1);
      boolean numeric = name.equals("id") || name.equals("version");
      params.add(
          Map.of(
              "name",
              name,
              "in",
              "path",
              "required",
              true,
              "schema",
              Map.of("type", numeric ? "integer" : "string")));
    }
    for (Param p : d.query()) {
      params.add(
          Map.of(
              "name",
              p.name(),
              "in",
              "query",
              "required",
              false,
              "description",
              p.description(),
              "schema",
              Map.of("type", p.type())));
    }
    if (!params.isEmpty()) {
      op.put("parameters", params);
    }
    if (r.method() == Method.POST && d.body() != null) {
      op.put(
          "requestBody",
          Map.of(
              "description",
              d.body(),
              "content",
              Map.of(Routes.JSON, Map.of("schema", Map.of("type", "object")))));
    }
    Map<String, Object> responses = new LinkedHashMap<>();
    String ok = r.method() == Method.POST && r.path().endsWith("/runs") ? "202" : "200";
    if (r.path().endsWith("/retry")) {
      ok = "202";
    } else if (r.method() == Method.POST && r.path().equals("/api/tokens")) {
      ok = "201";
    }
    responses.put(
        ok, Map.of("description", d.summary(), "content", Map.of(d.produces(), Map.of())));
    Map<String, Object> error =
        Map.of(
            "content",
            Map.of(Routes.JSON, Map.of("schema", Map.of("$ref", "#/components/schemas/Error"))));
    responses.put("400", with(error, "bad input, naming the parameter"));
    if (r.role() != null) {
      responses.put("401", with(error, "missing, unknown or revoked token"));
      responses.put("403", with(error, "the token's role is too low"));
    }
    if (r.path().contains("{")) {
      responses.put("404", with(error, "no such id or name"));
    }
    op.put("responses", responses);
    return op;
  }

  private static Map<String, Object> with(Map<String, Object> base, String description) {
    Map<String, Object> m = new LinkedHashMap<>(base);
    m.put("description", description);
    return m;
  }

  private OpenApi() {}
}
