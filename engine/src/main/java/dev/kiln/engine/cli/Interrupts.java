package dev.kiln.engine.cli;

import dev.kiln.engine.util.DaemonThreads;
import java.util.HashMap;
import java.util.Map;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGINT (Ctrl-C) and SIGTERM handled by the command instead of by the JVM's shutdown: the first
 * one calls {@code first} (which cancels the run; the command then ends normally, prints its
 * summary and exits 130), a second one exits at once with 130.
 */
final class Interrupts implements AutoCloseable {
  /** The exit code of a command stopped by SIGINT or SIGTERM (128 + SIGINT), always. */
  static final int EXIT = 130;

  private final Map<Signal, SignalHandler> previous = new HashMap<>();
  private volatile boolean received;

  private Interrupts(Runnable first) {
    SignalHandler h =
        sig -> {
          if (received) {
            System.exit(EXIT);
          }
          received = true;
          DaemonThreads.start("kiln-interrupt", first);
        };
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        Signal s = new Signal(name);
        previous.put(s, Signal.handle(s, h));
      } catch (IllegalArgumentException unsupported) {
        // Not on this platform (or the JVM reserves it, -Xrs): the shutdown hook remains.
      }
    }
  }

  static Interrupts install(Runnable first) {
    return new Interrupts(first);
  }

  boolean received() {
    return received;
  }

  @Override
  public void close() {
    previous.forEach(Signal::handle);
  }
}
