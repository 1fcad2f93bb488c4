package dev.kiln.steps.faults;

import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;

/** A built-in that recurses until the stack overflows, or allocates until the heap is full. */
public final class OverflowStep implements BuiltinStep {
  @Override
  public String name() {
    return "test/overflow";
  }

  @Override
  public Completion run(Context ctx) {
    if ("heap".equals(ctx.with().get("kind"))) {
      throw new OutOfMemoryError("Java heap space");
    }
    return recurse(0);
  }

  private static Completion recurse(int depth) {
    return depth < 0 ? null : recurse(depth + 1);
  }
}
