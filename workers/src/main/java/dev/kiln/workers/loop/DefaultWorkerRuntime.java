package dev.kiln.workers.loop;

import dev.kiln.engine.Engine;
import dev.kiln.engine.spi.WorkerRuntime;

/** The worker runtime the engine finds through ServiceLoader. */
public final class DefaultWorkerRuntime implements WorkerRuntime {
  @Override
  public Handle start(Engine engine, Options options) {
    Worker w = new Worker(engine, options);
    w.start();
    return w;
  }
}
