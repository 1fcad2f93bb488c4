package dev.kiln.workers.loop;

import dev.kiln.engine.spi.LogSink;
import dev.kiln.engine.store.TaskQueue;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects an attempt's log lines, masked ({@link Masker}), and writes them in batches: when 500
 * are waiting or when the worker's flusher ticks (every 100 ms), so logs appear in the store as
 * they come without one insert per line.
 */
final class LogBuffer implements LogSink {
  private static final Logger log = LoggerFactory.getLogger(LogBuffer.class);
  private static final int BATCH = 500;

  private final TaskQueue queue;
  private final long taskId;
  private final int attempt;
  private List<String[]> pending = new ArrayList<>();
  private volatile Masker masker = Masker.NONE;

  LogBuffer(TaskQueue queue, long taskId, int attempt) {
    this.queue = queue;
    this.taskId = taskId;
    this.attempt = attempt;
  }

  /** From now on every line is masked by {@code m}; set before the step can print anything. */
  void mask(Masker m) {
    masker = m;
  }

  Masker masker() {
    return masker;
  }

  @Override
  public void line(String stream, String text) {
    boolean full;
    String masked = masker.text(text.replace('\u0000', ' '));
    synchronized (this) {
      pending.add(new String[] {stream, masked});
      full = pending.size() >= BATCH;
    }
    if (full) {
      flush();
    }
  }

  void flush() {
    List<String[]> batch;
    synchronized (this) {
      if (pending.isEmpty()) {
        return;
      }
      batch = pending;
      pending = new ArrayList<>();
    }
    try {
      queue.appendLogs(taskId, attempt, batch);
    } catch (RuntimeException e) {
      log.warn(
          "lost {} log lines of task {} attempt {}: {}",
          batch.size(),
          taskId,
          attempt,
          e.getMessage());
    }
  }
}
