package dev.kiln.steps.model;

import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.With;
import java.util.List;
import java.util.Map;

/** {@code uses: model/promote}: points an alias at a model version, audited. */
public final class ModelPromoteStep implements BuiltinStep {
  static final String NAME = "model/promote";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.baseDir());
    try {
      String name = in.string("name");
      long version = in.integer("version", -1);
      if (version < 1) {
        throw in.bad("version", "required (a version number)");
      }
      String alias = Names.alias(in.string("alias"));
      ModelRegistry.Move m =
          ctx.engine()
              .models()
              .promote(
                  name,
                  (int) version,
                  alias,
                  Names.who(),
                  in.string("reason", "promoted by run " + ctx.task().runId()));
      ctx.logs()
          .line(
              "system",
              m.moved()
                  ? name
                      + " "
                      + alias
                      + ": "
                      + (m.from() == null ? "none" : m.from())
                      + " -> "
                      + m.to()
                  : name + " " + alias + " already at version " + m.to());
      return new Completion(
          Completion.Outcome.SUCCEEDED,
          null,
          null,
          Map.of("version", String.valueOf(m.to())),
          List.of(),
          List.of());
    } catch (With.BadInput | RegistryException e) {
      return Completion.failed(e.getMessage());
    }
  }
}
