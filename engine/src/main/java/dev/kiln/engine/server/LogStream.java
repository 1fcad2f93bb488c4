package dev.kiln.engine.server;

import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.RunQueries;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * A task's log as a byte stream read from the store one page at a time, so a log of any size is
 * sent without ever being held whole. Following, it waits for new lines until the task (every task
 * of a matrix step) is settled, then ends with the {@code end} chunk.
 */
final class LogStream extends InputStream {
  static final int PAGE = 1_000;
  private static final long POLL_MS = 200;

  private final RunQueries queries;
  private final long runId;
  private final String task;
  private final boolean follow;
  private final Function<LogLine, String> format;
  private final String end;
  private long after;
  private byte[] buf = new byte[0];
  private int pos;
  private boolean done;

  /**
   * @param format one line's text in the stream
   * @param end what follows the last line when following (null: nothing)
   */
  LogStream(
      RunQueries queries,
      long runId,
      String task,
      long after,
      boolean follow,
      Function<LogLine, String> format,
      String end) {
    this.queries = queries;
    this.runId = runId;
    this.task = task;
    this.after = after;
    this.follow = follow;
    this.format = format;
    this.end = end;
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    while (pos >= buf.length) {
      if (done || !fill()) {
        return -1;
      }
    }
    int n = Math.min(len, buf.length - pos);
    System.arraycopy(buf, pos, b, off, n);
    pos += n;
    return n;
  }

  /** Loads the next page; false at the end of the stream. */
  private boolean fill() {
    while (true) {
      // Read "ended" before the page: a line written after the page was read cannot be lost.
      boolean ended = !follow || queries.taskEnded(runId, task);
      List<LogLine> page = queries.logPage(runId, task, after, PAGE);
      if (!page.isEmpty()) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (LogLine l : page) {
          out.writeBytes(format.apply(l).getBytes(StandardCharsets.UTF_8));
          after = l.id();
        }
        buf = out.toByteArray();
        pos = 0;
        return true;
      }
      if (ended) {
        done = true;
        if (follow && end != null) {
          buf = end.getBytes(StandardCharsets.UTF_8);
          pos = 0;
          return true;
        }
        return false;
      }
      try {
        Thread.sleep(POLL_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        done = true;
        return false;
      }
    }
  }
}
