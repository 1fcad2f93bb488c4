package dev.kiln.engine.util;

import java.util.concurrent.ThreadFactory;

/**
 * Daemon threads with a name: background work (pollers, drains, pools) that must not keep the JVM
 * alive once the command or server that started it has returned.
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Runs {@code r} on a new daemon thread called {@code name}, started. */
  public static Thread start(String name, Runnable r) {
    Thread t = named(name).newThread(r);
    t.start();
    return t;
  }

  /** A factory for an executor: each of its threads is a daemon called {@code name}. */
  public static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
