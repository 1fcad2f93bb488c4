package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.engine.Engine;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The web UI at {@code /} of {@code kiln server}, found with {@link ServiceLoader} (module {@code
 * web}), so the engine never imports it. Its pages are routes of a {@link Routes} table like the
 * API's, each with the least role it needs, checked by the UI's own guard (a session cookie).
 */
public interface WebUi {
  /** What the server hosts, as the pages see it. */
  interface Hosted {
    /** The folder the pipeline files are read from. */
    Path root();

    /** The active pipelines by name (the last valid version of each file). */
    Map<String, Pipeline> pipelines();

    /** The server's environment (settings such as {@code KILN_UI_SESSION_TTL}). */
    Map<String, String> env();

    /** Starts a run as the run API does, with the trigger {@code ui}. */
    RunStarter.Outcome start(Pipeline pipeline, Map<String, Object> params) throws InvalidRequest;
  }

  /** The pages' route table and the guard that checks them. */
  Routes routes(Engine engine, Hosted hosted);

  /** An HTML page for a path no route serves, or null to answer in JSON. */
  default String notFoundPage(String method, String path) {
    return null;
  }

  static Optional<WebUi> load() {
    return ServiceLoader.load(WebUi.class).findFirst();
  }
}
