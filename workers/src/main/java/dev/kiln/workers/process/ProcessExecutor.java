package dev.kiln.workers.process;

import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.spi.LogSink;
import dev.kiln.engine.task.Completion.Outcome;
import dev.kiln.engine.util.DaemonThreads;
import dev.kiln.engine.util.LaunchMechanism;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a step's command as a local child process: {@code sh -c COMMAND} in the attempt's work
 * folder, from an empty environment plus {@link #INHERITED} and the invocation's env, stdin from
 * /dev/null, stdout and stderr streamed line by line. On timeout or cancellation everything the
 * step started is stopped: SIGTERM, then SIGKILL after a grace period. "Everything" is the shell's
 * descendants plus every process carrying the attempt's {@code KILN_TASK} in its environment
 * ({@link LocalProcesses}), which also finds background children that were re-parented or started a
 * session of their own.
 */
public final class ProcessExecutor implements Executor {
  static final Duration GRACE = Duration.ofSeconds(5);

  /** The threads that copy steps' output to their logs, two per running step, kept when idle. */
  private static final ExecutorService PUMPS =
      Executors.newCachedThreadPool(DaemonThreads.named("kiln-step-output"));

  static {
    // vfork where it is the plain, supported choice (JDK 17 on Linux); embedded use (tests, a
    // worker started without Main) gets the same choice as the CLI.
    LaunchMechanism.preferVfork();
  }

  /**
   * What a step inherits of the worker's environment; everything else it gets is the KILN_* step
   * contract and its own env (docs/security.md, "What a step can see"), so the store's URL and
   * password and the worker's secrets never reach it.
   */
  static final List<String> INHERITED = List.of("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR");

  /** Longest line kept; a longer one is cut so one runaway line cannot fill the store. */
  static final int MAX_LINE = 16 * 1024;

  @Override
  public String name() {
    return "process";
  }

  @Override
  public ExecutionResult execute(Invocation inv) throws InterruptedException {
    // No setsid(1) in front: it cost an extra exec, 0.6 to 0.9 ms a step; the tag finds what a
    // session would have (docs/benchmarks.md, "Engine overhead").
    ProcessBuilder pb =
        new ProcessBuilder("sh", "-c", inv.command())
            .directory(inv.workDir().toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().clear();
    for (String name : INHERITED) {
      String v = System.getenv(name);
      if (v != null) {
        pb.environment().put(name, v);
      }
    }
    pb.environment().putAll(inv.env());
    String tag = pb.environment().computeIfAbsent("KILN_TASK", k -> "process/" + UUID.randomUUID());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      return new ExecutionResult(Outcome.FAILED, null, "cannot start sh: " + e.getMessage());
    }
    Future<?> out = pump(p.getInputStream(), "stdout", inv.logs(), inv.task().stepId());
    Future<?> err = pump(p.getErrorStream(), "stderr", inv.logs(), inv.task().stepId());
    inv.cancellation().onCancel(() -> killTree(p.toHandle(), tag));
    Long timeoutMs = inv.task().spec().timeoutMs();
    boolean exited;
    try {
      exited = timeoutMs == null ? waitFor(p) : p.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      killTree(p.toHandle(), tag);
      throw e;
    }
    if (!exited) {
      killTree(p.toHandle(), tag);
    }
    // Background children that outlive the shell hold the pipes open; they were re-parented when
    // the shell exited, so find them by their tag, not by parent, and stop them too.
    boolean drained = drained(out, 50) & drained(err, 50);
    if (!drained) {
      LocalProcesses.killTagged(tag);
      drained(out, GRACE.toMillis());
      drained(err, GRACE.toMillis());
    }
    if (!exited) {
      return new ExecutionResult(
          Outcome.TIMED_OUT,
          null,
          "timed out after " + Duration.ofMillis(timeoutMs).toString().substring(2).toLowerCase());
    }
    if (inv.cancellation().isCancelled()) {
      return new ExecutionResult(Outcome.CANCELLED, p.exitValue(), inv.cancellation().reason());
    }
    return ExecutionResult.exited(p.exitValue());
  }

  private static boolean waitFor(Process p) throws InterruptedException {
    p.waitFor();
    return true;
  }

  /**
   * SIGTERM to the process, its descendants and every process tagged with {@code tag}, then SIGKILL
   * to whatever is left after GRACE.
   */
  static void killTree(ProcessHandle root, String tag) {
    Set<ProcessHandle> set = new LinkedHashSet<>();
    set.add(root);
    root.descendants().forEach(set::add);
    set.addAll(LocalProcesses.tagged(tag));
    List<ProcessHandle> all = List.copyOf(set);
    all.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + GRACE.toNanos();
    for (ProcessHandle h : all) {
      long left = deadline - System.nanoTime();
      try {
        h.onExit().get(Math.max(left, 0), TimeUnit.NANOSECONDS);
      } catch (Exception notYet) {
        h.destroyForcibly();
      }
    }
    // Children forked during the grace period.
    root.descendants().forEach(ProcessHandle::destroyForcibly);
    LocalProcesses.killTagged(tag);
  }

  private static String ended(StringBuilder line, long cut) {
    int len = line.length();
    if (len > 0 && line.charAt(len - 1) == '\r') {
      line.setLength(len - 1);
    }
    return cut == 0 ? line.toString() : line + " [cut: " + cut + " more characters]";
  }

  /**
   * Whether the pump ended within {@code ms} (it reached the end of its stream); it keeps going
   * otherwise.
   */
  private static boolean drained(Future<?> pump, long ms) throws InterruptedException {
    try {
      pump.get(ms, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true; // the pump logs its own read errors; anything else ended it as well
    }
  }

  /**
   * Copies a stream's lines to the step's log on a pooled thread: threads are reused from step to
   * step, since starting two new ones (Thread.start waits for each to run) cost 1.5-2.7 ms a step
   * (docs/benchmarks.md, "Issue 18, session 7").
   */
  private static Future<?> pump(InputStream in, String stream, LogSink sink, String step) {
    return PUMPS.submit(
        () -> {
          // Named for the step while it pumps, so a thread dump says whose output it copies.
          Thread self = Thread.currentThread();
          String idle = self.getName();
          self.setName("kiln-step-output " + step + " " + stream);
          try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            // Read by hand, not readLine(): one 4 GB line must not be held in memory whole.
            char[] buf = new char[8192];
            StringBuilder line = new StringBuilder();
            long cut = 0;
            int n;
            while ((n = r.read(buf)) > 0) {
              for (int i = 0; i < n; i++) {
                char ch = buf[i];
                if (ch == '\n') {
                  sink.line(stream, ended(line, cut));
                  line.setLength(0);
                  cut = 0;
                } else if (line.length() < MAX_LINE) {
                  line.append(ch);
                } else {
                  cut++;
                }
              }
            }
            if (line.length() > 0 || cut > 0) {
              sink.line(stream, ended(line, cut));
            }
          } catch (IOException e) {
            sink.line("system", stream + " of " + step + " could not be read: " + e.getMessage());
          } finally {
            self.setName(idle);
          }
        });
  }
}
