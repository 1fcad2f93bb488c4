package dev.kiln.web;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static dev.kiln.engine.server.Routes.route;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.dsl.parse.CronSyntax;
import dev.kiln.dsl.parse.ParseResult;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.dsl.parse.Problem;
import dev.kiln.engine.Engine;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.server.Routes.Route;
import dev.kiln.engine.server.WebUi;
import dev.kiln.engine.store.Json;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.camel.Exchange;

/**
 * Pipelines: every pipeline file of the server's folder, valid or not (an invalid one shows its
 * YAML with each problem on its line), triggers with their next fire time and recent runs, and the
 * Run form built from the typed params (operators only).
 */
final class PipelinePages {
  private static final Pattern NAME = Pattern.compile("(?m)^name\\s*:\\s*['\"]?([^'\"#\\s]+)");
  private static final Pattern STEPS = Pattern.compile("(?m)^steps\\s*:");
  private static final int MAX_FILES = 2_000;

  /** A pipeline file as last read: its parse, cached by modification time and size. */
  private record FileState(
      Path file, long modified, long size, String name, String text, ParseResult parsed) {}

  private final Engine engine;
  private final WebUi.Hosted hosted;
  private final Views views;
  private final RunQueries runs;
  private final Map<Path, FileState> files = new ConcurrentHashMap<>();

  PipelinePages(Engine engine, WebUi.Hosted hosted, Views views) {
    this.engine = engine;
    this.hosted = hosted;
    this.views = views;
    this.runs = new RunQueries(engine.db());
  }

  List<Route> routes() {
    return List.of(
        route(GET, "/pipelines", Role.VIEWER, this::list),
        route(GET, "/pipelines/{name}", Role.VIEWER, this::show),
        route(POST, "/pipelines/{name}/runs", Role.OPERATOR, this::start));
  }

  private List<FileState> scan() {
    List<Path> paths;
    try (Stream<Path> s = Files.walk(hosted.root())) {
      paths =
          s.filter(p -> p.toString().matches(".*\\.ya?ml") && !p.toString().contains("/.kiln/"))
              .filter(Files::isRegularFile)
              .sorted()
              .limit(MAX_FILES)
              .toList();
    } catch (IOException e) {
      return List.of();
    }
    List<FileState> out = new ArrayList<>();
    for (Path p : paths) {
      FileState f = read(p);
      if (f != null) {
        out.add(f);
      }
    }
    return out;
  }

  private FileState read(Path p) {
    try {
      long modified = Files.getLastModifiedTime(p).toMillis();
      long size = Files.size(p);
      FileState cached = files.get(p);
      if (cached != null && cached.modified() == modified && cached.size() == size) {
        return cached;
      }
      if (size > PipelineParser.MAX_BYTES) {
        return null;
      }
      String text = Files.readString(p, StandardCharsets.UTF_8);
      Matcher m = NAME.matcher(text);
      if (!m.find() || !STEPS.matcher(text).find()) {
        return null;
      }
      FileState f = new FileState(p, modified, size, m.group(1), text, PipelineParser.parse(p));
      files.put(p, f);
      return f;
    } catch (IOException e) {
      return null;
    }
  }

  private Reply list(Exchange e) {
    Map<String, Pipeline> active = hosted.pipelines();
    Map<String, Pages.PipelineRow> rows = new TreeMap<>();
    for (FileState f : scan()) {
      Pipeline p = active.get(f.name());
      String problem =
          f.parsed().ok()
              ? ""
              : f.parsed().problems().size()
                  + " problem(s): "
                  + f.parsed().problems().get(0).message();
      rows.put(
          f.name(),
          new Pages.PipelineRow(
              f.name(),
              hosted.root().relativize(f.file()).toString(),
              p == null ? 0 : p.steps().size(),
              p == null ? 0 : p.triggers().size(),
              problem,
              p != null));
    }
    active.forEach(
        (name, p) ->
            rows.putIfAbsent(
                name,
                new Pages.PipelineRow(
                    name, p.source().file(), p.steps().size(), p.triggers().size(), "", true)));
    return views.page(
        200,
        "pipelines.jte",
        "f",
        Views.frame(SessionGuard.session(e), "Pipelines", "pipelines"),
        "rows",
        List.copyOf(rows.values()));
  }

  private Reply show(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    Pipeline p = hosted.pipelines().get(name);
    FileState file = null;
    for (FileState f : scan()) {
      if (f.name().equals(name)) {
        file = f;
      }
    }
    if (p == null && file == null) {
      throw new InvalidRequest(404, "no pipeline '" + name + "' on this server");
    }
    String text = file != null ? file.text() : p.source().text();
    Map<Integer, List<String>> problems = new TreeMap<>();
    if (file != null) {
      for (Problem pr : file.parsed().problems()) {
        problems
            .computeIfAbsent(Math.max(1, pr.location().line()), k -> new ArrayList<>())
            .add(pr.message());
      }
    }
    List<Pages.Firing> triggers = new ArrayList<>();
    if (p != null) {
      for (Trigger t : p.triggers()) {
        triggers.add(firing(t));
      }
    }
    return views.page(
        200,
        "pipeline.jte",
        "f",
        Views.frame(SessionGuard.session(e), name, "pipelines"),
        "v",
        new Pages.PipelineView(
            name,
            file != null ? hosted.root().relativize(file.file()).toString() : p.source().file(),
            p == null ? "" : p.description() == null ? "" : p.description(),
            List.of(text.split("\n", -1)),
            problems,
            p == null ? List.of() : List.copyOf(p.params().values()),
            triggers,
            runs.runs(new RunQueries.Filter(name, null, null, null, null, 10)).runs(),
            p != null));
  }

  private static Pages.Firing firing(Trigger t) {
    if (t instanceof Trigger.Cron c) {
      String next;
      try {
        Date d = CronSyntax.parse(c.expression(), c.timezone()).getNextValidTimeAfter(new Date());
        next = d == null ? "never" : Pages.time(d.toInstant()) + " UTC";
      } catch (RuntimeException ex) {
        next = "?";
      }
      return new Pages.Firing(
          "cron", c.expression() + (c.timezone() == null ? "" : " (" + c.timezone() + ")"), next);
    }
    if (t instanceof Trigger.Webhook w) {
      return new Pages.Firing("webhook", "POST /hooks/" + w.path(), "");
    }
    Trigger.Files f = (Trigger.Files) t;
    return new Pages.Firing("files", f.dir() + "/" + f.glob(), "");
  }

  private Reply start(Exchange e) throws InvalidRequest {
    String name = Req.param(e, "name");
    Pipeline p = hosted.pipelines().get(name);
    if (p == null) {
      throw new InvalidRequest(404, "no pipeline '" + name + "' on this server");
    }
    ObjectNode body = Json.MAPPER.createObjectNode();
    for (ParamSpec spec : p.params().values()) {
      String v = Req.param(e, "p." + spec.name());
      try {
        switch (spec.type()) {
          case BOOLEAN -> body.put(spec.name(), "true".equals(v));
          case INTEGER -> {
            if (v != null) {
              body.put(spec.name(), Long.parseLong(v.trim()));
            }
          }
          case NUMBER -> {
            if (v != null) {
              body.put(spec.name(), Double.parseDouble(v.trim()));
            }
          }
          default -> {
            if (v != null) {
              body.put(spec.name(), v);
            }
          }
        }
      } catch (NumberFormatException ex) {
        throw new InvalidRequest(
            400,
            "param '" + spec.name() + "' must be " + spec.type().yamlName() + ", got '" + v + "'");
      }
    }
    Map<String, Object> params = TriggerParams.fromJson(p, body);
    RunStarter.Outcome outcome = hosted.start(p, params);
    if (outcome instanceof RunStarter.Outcome.Started s) {
      return Views.redirect("/runs/" + s.runId());
    }
    throw new InvalidRequest(409, ((RunStarter.Outcome.Skipped) outcome).reason());
  }
}
