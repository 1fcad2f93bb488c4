package dev.kiln.steps.model;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.Names;
import dev.kiln.engine.registry.RegistryException;
import dev.kiln.engine.spi.BuiltinStep;
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
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (RegistryException e) {
      return Completion.failed(e.getMessage());
    }
  }
}
