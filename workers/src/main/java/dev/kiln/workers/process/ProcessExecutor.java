package dev.kiln.workers.process;

import dev.kiln.engine.run.Completion.Outcome;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.spi.LogSink;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a step's command as a local child process: {@code sh -c COMMAND} in the attempt's work
 * folder, stdin from /dev/null, stdout and stderr streamed line by line. On timeout or
 * cancellation the whole process tree is stopped: SIGTERM, then SIGKILL after a grace period.
 */
public final class ProcessExecutor implements Executor {
  static final Duration GRACE = Duration.ofSeconds(5);
  /** Longest line kept; a longer one is cut so one runaway line cannot fill the store. */
  static final int MAX_LINE = 16 * 1024;
  /** Run each command in its own session so everything it starts can be found and stopped. */
  static final boolean SETSID = java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/setsid"))
      && java.nio.file.Files.isDirectory(java.nio.file.Path.of("/proc/self"));

  @Override
  public String name() {
    return "process";
  }

  @Override
  public ExecutionResult execute(Invocation inv) throws InterruptedException {
    List<String> cmd = SETSID ? List.of("setsid", "sh", "-c", inv.command())
        : List.of("sh", "-c", inv.command());
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .directory(inv.workDir().toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(inv.env());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      return new ExecutionResult(Outcome.FAILED, null, "cannot start sh: " + e.getMessage());
    }
    Thread out = pump(p.getInputStream(), "stdout", inv.logs(), inv.task().stepId());
    Thread err = pump(p.getErrorStream(), "stderr", inv.logs(), inv.task().stepId());
    inv.cancellation().onCancel(() -> killTree(p.toHandle()));
    Long timeoutMs = inv.task().spec().timeoutMs();
    boolean exited;
    try {
      exited = timeoutMs == null ? waitFor(p) : p.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      killTree(p.toHandle());
      throw e;
    }
    if (!exited) {
      killTree(p.toHandle());
    }
    // Background children that outlive the shell hold the pipes open; they were re-parented when
    // the shell exited, so find them by session, not by parent, and stop them too.
    out.join(50);
    err.join(50);
    if (out.isAlive() || err.isAlive()) {
      inSession(p.pid()).forEach(ProcessHandle::destroyForcibly);
      out.join(GRACE.toMillis());
      err.join(GRACE.toMillis());
    }
    if (!exited) {
      return new ExecutionResult(Outcome.TIMED_OUT, null,
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
   * SIGTERM to the process, its descendants and every process of its session (the command runs
   * under setsid, so that is everything it started), then SIGKILL to whatever is left after GRACE.
   */
  static void killTree(ProcessHandle root) {
    java.util.Set<ProcessHandle> set = new java.util.LinkedHashSet<>();
    set.add(root);
    root.descendants().forEach(set::add);
    set.addAll(inSession(root.pid()));
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
    inSession(root.pid()).forEach(ProcessHandle::destroyForcibly);
  }

  /** Processes whose session id is {@code sid} (Linux /proc; empty elsewhere). */
  static List<ProcessHandle> inSession(long sid) {
    if (!SETSID) {
      return List.of();
    }
    List<ProcessHandle> out = new java.util.ArrayList<>();
    try (var dirs = java.nio.file.Files.newDirectoryStream(java.nio.file.Path.of("/proc"), "[0-9]*")) {
      for (java.nio.file.Path d : dirs) {
        try {
          String stat = java.nio.file.Files.readString(d.resolve("stat"));
          // Fields after the parenthesised command: state ppid pgrp session ...
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          if (Long.parseLong(f[3]) == sid) {
            ProcessHandle.of(Long.parseLong(d.getFileName().toString())).ifPresent(out::add);
          }
        } catch (IOException | RuntimeException gone) {
          // The process exited while we looked: nothing to stop.
        }
      }
    } catch (IOException e) {
      return out;
    }
    return out;
  }

  private static Thread pump(InputStream in, String stream, LogSink sink, String step) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          sink.line(stream, line.length() > MAX_LINE ? line.substring(0, MAX_LINE) + " [cut]" : line);
        }
      } catch (IOException e) {
        sink.line("system", stream + " of " + step + " could not be read: " + e.getMessage());
      }
    }, "kiln-" + stream + "-" + step);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
