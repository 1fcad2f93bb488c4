package dev.kiln.workers.builtin;

import dev.kiln.engine.Engine;
import dev.kiln.engine.run.StepStatus;
import dev.kiln.engine.store.RunRecord;
import java.time.Duration;

/** Waits for a run to end, polling the store with a deadline. */
final class Runs {
  private Runs() {}

  static RunRecord awaitEnd(Engine engine, long runId, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      RunRecord r = engine.store().run(runId).orElseThrow();
      if (r.status().terminal() && engine.store().tasks(runId).stream()
          .noneMatch(t -> t.status() == StepStatus.RUNNING)) {
        return r;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("run " + runId + " did not end within " + within);
      }
      Thread.sleep(20);
    }
  }
}
