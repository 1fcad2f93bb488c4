package dev.kiln.engine.server;

import dev.kiln.engine.store.LogLine;
import dev.kiln.engine.store.RunQueries;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * A task's log written from the store one page at a time, so a log of any size is sent without ever
 * being held whole. Following, it waits for new lines until the task (every task of a matrix step)
 * is settled, then writes the {@code end} chunk; a reader that goes away stops it at its next
 * write. The API's log routes and the web UI's live log use it.
 */
public final class LogStream implements Routes.Streamed {
  public static final int PAGE = 1_000;
  private static final long POLL_MS = 200;

  /** While following a quiet task, a comment this often finds out whether the reader is gone. */
  private static final long KEEP_ALIVE_MS = 15_000;

  private final RunQueries queries;
  private final long runId;
  private final String task;
  private final boolean follow;
  private final Function<LogLine, String> format;
  private final String end;
  private final RunQueries.LogQuery from;

  /**
   * @param from the first line (after its {@code afterId}) and the stream and text filter; its
   *     limit is ignored (pages of {@link #PAGE})
   * @param format one line's text in the stream
   * @param end what follows the last line when following (null: nothing)
   */
  public LogStream(
      RunQueries queries,
      long runId,
      String task,
      RunQueries.LogQuery from,
      boolean follow,
      Function<LogLine, String> format,
      String end) {
    this.queries = queries;
    this.runId = runId;
    this.task = task;
    this.from = from;
    this.follow = follow;
    this.format = format;
    this.end = end;
  }

  @Override
  public void writeTo(Routes.Sink out) throws IOException {
    long last = from.afterId();
    long wroteAt = System.nanoTime();
    while (true) {
      // Read "ended" before the page: a line written after the page was read cannot be lost.
      boolean ended = !follow || queries.taskEnded(runId, task);
      List<LogLine> page =
          queries.logPage(
              runId, task, new RunQueries.LogQuery(from.stream(), from.search(), last, PAGE));
      if (!page.isEmpty()) {
        StringBuilder sb = new StringBuilder();
        for (LogLine l : page) {
          sb.append(format.apply(l));
          last = l.id();
        }
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        wroteAt = System.nanoTime();
        continue;
      }
      if (ended) {
        if (follow && end != null) {
          out.write(end.getBytes(StandardCharsets.UTF_8));
        }
        return;
      }
      if (end != null && System.nanoTime() - wroteAt > KEEP_ALIVE_MS * 1_000_000) {
        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
        wroteAt = System.nanoTime();
      }
      try {
        Thread.sleep(POLL_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
