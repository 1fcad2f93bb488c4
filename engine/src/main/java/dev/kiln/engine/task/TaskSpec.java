package dev.kiln.engine.task;

import java.util.List;
import java.util.Map;

/**
 * Everything a worker needs to execute one step, with every {@code ${{ }}} already resolved (except
 * {@code secrets.*}, which only the worker resolves, so they never reach the store). A {@code run}
 * command is a script whose values are in {@code env} as {@code KILN_EXPR_n} ({@link StepRender});
 * where secrets go is in {@code env} under {@link SecretRefs#ENV_KEY}.
 *
 * @param kind "run" (a shell command) or "uses" (a built-in step)
 * @param user container user (docker executor), or null for the image's default
 * @param network container network mode (docker executor), or null for the engine's default
 * @param inputs artifacts of the steps this one needs: step id -> artifact name -> stored path
 * @param pipelineDir folder of the pipeline file, when it came from a file
 * @param baseDir folder the run was started from; relative paths in built-in steps resolve here
 * @param cache the step has {@code cache: true}: the worker looks its result up by input key
 * @param capabilities Linux capabilities a container keeps (docker executor); all others dropped
 * @param executor the executor the step requires ({@code executor:}), or null for any: only a
 *     worker with it claims the task (the {@code tasks.executor} column the claim filters on)
 */
public record TaskSpec(
    String kind,
    String command,
    String uses,
    Map<String, Object> with,
    String image,
    Map<String, String> env,
    Long timeoutMs,
    Double cpus,
    Long memoryBytes,
    String user,
    String network,
    Map<String, Map<String, String>> inputs,
    String pipelineDir,
    String baseDir,
    boolean cache,
    List<String> capabilities,
    String executor) {

  public TaskSpec {
    capabilities = capabilities == null ? List.of() : List.copyOf(capabilities);
  }

  public boolean isRun() {
    return "run".equals(kind);
  }
}
