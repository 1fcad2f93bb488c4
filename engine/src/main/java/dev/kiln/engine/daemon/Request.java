package dev.kiln.engine.daemon;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One command for the daemon to answer as if typed by its caller.
 *
 * @param cwd the caller's working folder
 * @param terminal whether the caller's stdin and stdout are terminals
 * @param args the command's arguments
 * @param env the caller's environment as the launcher sends it (KILN_*, AWS_*, locale, colour)
 */
public record Request(Path cwd, boolean terminal, List<String> args, Map<String, String> env) {
  public Request {
    args = List.copyOf(args);
    env = Map.copyOf(env);
  }
}
