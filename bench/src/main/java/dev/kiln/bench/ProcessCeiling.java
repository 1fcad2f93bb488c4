package dev.kiln.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many {@code sh -c true} processes this machine starts and reaps a second when nothing else
 * runs, from {@code threads} threads of this JVM (the way Kiln starts steps), and how busy the
 * cores were meanwhile. No orchestrator starts steps faster than that, so a steps-per-second target
 * is quoted against it: on a virtual machine whose process starts contend across cores, it is also
 * where the cores run out.
 */
final class ProcessCeiling {
  private ProcessCeiling() {}

  /**
   * Starts a second, and the share of the machine's CPU time in use meanwhile (0-1, -1 unknown).
   */
  record Result(double perSecond, double busy) {
    /** {@code rate} (a second) as a share of this ceiling. */
    double share(double rate) {
      return rate / perSecond;
    }

    String describe() {
      return String.format(
          "%.0f process starts a second (sh -c true, started and reaped from the JVM)%s",
          perSecond,
          busy < 0 ? "" : String.format(", the cores %.0f %% busy meanwhile", busy * 100));
    }
  }

  /** The ceiling as the benchmarks quote it: one thread per core, for 3 seconds. */
  static Result measure() throws Exception {
    return measure(Runtime.getRuntime().availableProcessors(), Duration.ofSeconds(3));
  }

  static Result measure(int threads, Duration how) throws Exception {
    AtomicLong started = new AtomicLong();
    long end = System.nanoTime() + how.toNanos();
    long[] cpu0 = cpuTicks();
    long t0 = System.nanoTime();
    List<Thread> ts = new ArrayList<>();
    List<Exception> failed = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t =
          new Thread(
              () -> {
                try {
                  while (System.nanoTime() < end) {
                    new ProcessBuilder("sh", "-c", "true")
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start()
                        .waitFor();
                    started.incrementAndGet();
                  }
                } catch (IOException e) {
                  synchronized (failed) {
                    failed.add(e);
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "kiln-bench-ceiling-" + i);
      t.start();
      ts.add(t);
    }
    for (Thread t : ts) {
      t.join();
    }
    double seconds = Measure.secondsSince(t0);
    long[] cpu1 = cpuTicks();
    if (!failed.isEmpty()) {
      throw failed.get(0);
    }
    double busy =
        cpu0 == null || cpu1 == null || cpu1[1] == cpu0[1]
            ? -1
            : (double) (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1]);
    return new Result(started.get() / seconds, busy);
  }

  /** Busy and total jiffies of all cores from /proc/stat, or null where there is none. */
  private static long[] cpuTicks() {
    Path stat = Path.of("/proc/stat");
    if (!Files.isReadable(stat)) {
      return null;
    }
    try {
      String[] f = Files.readAllLines(stat).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < f.length && i <= 8; i++) {
        total += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]); // idle, iowait
      return new long[] {total - idle, total};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
