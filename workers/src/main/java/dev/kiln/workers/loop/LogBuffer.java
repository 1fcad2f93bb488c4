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
 * they come without one insert per line. It keeps at most {@link StepLimits#logLines} lines and
 * {@link StepLimits#logBytes} bytes of an attempt; the rest is counted and dropped, and a system
 * line at the end says how much. Lines that cannot be written because the store is unreachable are
 * kept (up to {@link #MAX_UNWRITTEN}) and written when it is back.
 */
final class LogBuffer implements LogSink {
  private static final Logger log = LoggerFactory.getLogger(LogBuffer.class);
  private static final int BATCH = 500;
  static final int MAX_UNWRITTEN = 50_000;

  private final TaskQueue queue;
  private final long taskId;
  private final int attempt;
  private final StepLimits limits;
  private List<String[]> pending = new ArrayList<>();
  private volatile Masker masker = Masker.NONE;
  private long keptLines;
  private long keptBytes;
  private long droppedLines;
  private long droppedBytes;
  private long unwrittenDropped;
  private boolean failing;

  LogBuffer(TaskQueue queue, long taskId, int attempt) {
    this(queue, taskId, attempt, StepLimits.DEFAULTS);
  }

  LogBuffer(TaskQueue queue, long taskId, int attempt, StepLimits limits) {
    this.queue = queue;
    this.taskId = taskId;
    this.attempt = attempt;
    this.limits = limits;
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
      long bytes = text.length(); // chars: a cheap bound that needs no encoding
      if (!"system".equals(stream)
          && (keptLines >= limits.logLines() || keptBytes + bytes > limits.logBytes())) {
        droppedLines++;
        droppedBytes += bytes;
        return;
      }
      keptLines++;
      keptBytes += bytes;
      pending.add(new String[] {stream, masked});
      full = pending.size() >= BATCH && !failing;
    }
    if (full) {
      flush();
    }
  }

  /** Lines dropped over the limits so far. */
  synchronized long dropped() {
    return droppedLines;
  }

  /** Writes the marker of what was dropped, if anything was; called once the step has ended. */
  void finish() {
    synchronized (this) {
      if (droppedLines > 0) {
        pending.add(
            new String[] {
              "system",
              "log cut: "
                  + droppedLines
                  + " more lines ("
                  + droppedBytes
                  + " characters) were dropped; a step's log keeps at most "
                  + limits.logLines()
                  + " lines and "
                  + StepLimits.describe(limits.logBytes())
                  + " (KILN_MAX_LOG_LINES, KILN_MAX_LOG_BYTES)"
            });
        droppedLines = 0;
        droppedBytes = 0;
      }
    }
    flush();
  }

  /** Writes what is waiting; returns whether the store took it (or nothing was waiting). */
  boolean flush() {
    List<String[]> batch;
    synchronized (this) {
      if (pending.isEmpty()) {
        return true;
      }
      batch = pending;
      pending = new ArrayList<>();
      if (unwrittenDropped > 0) {
        batch.add(
            0,
            new String[] {
              "system", unwrittenDropped + " log lines were dropped while the store was unreachable"
            });
      }
    }
    try {
      queue.appendLogs(taskId, attempt, batch);
      synchronized (this) {
        failing = false;
        unwrittenDropped = 0;
      }
      return true;
    } catch (RuntimeException e) {
      synchronized (this) {
        if (!failing) {
          log.warn(
              "cannot write log lines of task {} attempt {}; keeping them: {}",
              taskId,
              attempt,
              e.getMessage());
        }
        failing = true;
        if (unwrittenDropped > 0) {
          batch.remove(0);
        }
        batch.addAll(pending);
        int over = batch.size() - MAX_UNWRITTEN;
        if (over > 0) {
          batch.subList(0, over).clear();
          unwrittenDropped += over;
        }
        pending = batch;
      }
      return false;
    }
  }
}
