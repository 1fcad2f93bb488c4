package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.store.SideEffects;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
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
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        NAME,
        "Points an alias (e.g. production) at a model version.",
        List.of(
            WithKey.required("name", Type.STRING, "the model name"),
            WithKey.required("version", Type.INTEGER, "the version to promote"),
            WithKey.required("alias", Type.STRING, "the alias to move"),
            WithKey.optional("reason", Type.STRING, "why, recorded in the alias history")),
        Outputs.of("version", "the version the alias now points at"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With in = new With(NAME, ctx.with(), ctx.paths());
    try {
      String name = in.string("name");
      long version = in.integer("version", -1);
      if (version < 1) {
        throw in.bad("version", "required (a version number)");
      }
      String alias = Names.alias(in.string("alias"));
      String reason = in.string("reason", "promoted by run " + ctx.task().runId());
      // Once per task: an attempt re-run after a lost one does not move the alias again.
      SideEffects.Outcome once =
          ctx.engine()
              .sideEffects()
              .once(
                  ctx.task(),
                  NAME,
                  c -> {
                    ModelRegistry.Move m =
                        ctx.engine()
                            .models()
                            .promote(c, name, (int) version, alias, Names.who(), reason);
                    return Map.of(
                        "version",
                        String.valueOf(m.to()),
                        "log",
                        m.moved()
                            ? name
                                + " "
                                + alias
                                + ": "
                                + (m.from() == null ? "none" : m.from())
                                + " -> "
                                + m.to()
                            : name + " " + alias + " already at version " + m.to());
                  });
      ctx.logs()
          .line(
              "system",
              (once.repeated() ? "already done by an earlier attempt: " : "")
                  + once.outputs().get("log"));
      return new Completion(
          Completion.Outcome.SUCCEEDED,
          null,
          null,
          Map.of("version", once.outputs().get("version")),
          List.of(),
          List.of());
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.failed(e.getMessage());
    }
  }
}
