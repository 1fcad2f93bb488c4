package dev.kiln.workers.docker;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.kiln.engine.spi.LogSink;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns the engine's multiplexed log frames into lines, stdout and stderr kept apart. Frames are
 * not line-aligned: each stream keeps its partial last line until the next newline or the end.
 */
final class LogLines extends EngineStream<Frame> {
  /** Longest line kept; a longer one is cut so one runaway line cannot fill the store. */
  static final int MAX_LINE = 16 * 1024;

  private final LogSink sink;
  private final Partial out = new Partial("stdout");
  private final Partial err = new Partial("stderr");

  LogLines(LogSink sink) {
    this.sink = sink;
  }

  @Override
  public void onNext(Frame frame) {
    Partial p = frame.getStreamType() == StreamType.STDERR ? err : out;
    p.add(frame.getPayload());
  }

  @Override
  void ended() {
    out.end();
    err.end();
    if (error() != null) {
      sink.line("system", "container output ended early: " + DockerEngine.oneLine(error()));
    }
  }

  private final class Partial {
    private final String stream;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private boolean cut;

    Partial(String stream) {
      this.stream = stream;
    }

    synchronized void add(byte[] bytes) {
      for (byte b : bytes) {
        if (b == '\n') {
          emit();
        } else if (line.size() < MAX_LINE) {
          line.write(b);
        } else {
          cut = true;
        }
      }
    }

    synchronized void end() {
      if (line.size() > 0 || cut) {
        emit();
      }
    }

    private void emit() {
      String text = line.toString(StandardCharsets.UTF_8);
      if (text.endsWith("\r")) {
        text = text.substring(0, text.length() - 1);
      }
      sink.line(stream, cut ? text + " [cut]" : text);
      line.reset();
      cut = false;
    }
  }
}
