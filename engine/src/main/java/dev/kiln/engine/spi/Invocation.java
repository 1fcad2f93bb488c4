package dev.kiln.engine.spi;

import dev.kiln.engine.store.ClaimedTask;
import java.nio.file.Path;
import java.util.Map;

/**
 * One attempt to hand to an {@link Executor}.
 *
 * @param workDir the attempt's own folder; the command's working directory
 * @param env variables to add to the command's environment (KILN_* and the step's env)
 * @param command the shell command, secrets resolved
 */
public record Invocation(
    ClaimedTask task,
    Path workDir,
    Map<String, String> env,
    String command,
    LogSink logs,
    Cancellation cancellation) {}
