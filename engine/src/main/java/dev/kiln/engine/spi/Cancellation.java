package dev.kiln.engine.spi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Set once when an attempt must stop (run cancelled, lease lost, worker shutting down). */
public final class Cancellation {
  private volatile String reason;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  public void cancel(String why) {
    synchronized (this) {
      if (reason != null) {
        return;
      }
      reason = why;
    }
    listeners.forEach(Runnable::run);
  }

  public boolean isCancelled() {
    return reason != null;
  }

  public String reason() {
    return reason;
  }

  /** Runs {@code r} on cancellation, or now if already cancelled. */
  public void onCancel(Runnable r) {
    listeners.add(r);
    if (reason != null) {
      r.run();
    }
  }
}
