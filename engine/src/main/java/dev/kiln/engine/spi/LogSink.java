package dev.kiln.engine.spi;

/** Where an executor sends each line the command prints, as it prints it. Thread-safe. */
@FunctionalInterface
public interface LogSink {
  /** stream is "stdout", "stderr" or "system". */
  void line(String stream, String text);
}
