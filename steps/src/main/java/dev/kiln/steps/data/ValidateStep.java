package dev.kiln.steps.data;

import dev.kiln.dsl.model.BuiltinSpec;
import dev.kiln.dsl.model.BuiltinSpec.Type;
import dev.kiln.dsl.model.BuiltinSpec.WithKey;
import dev.kiln.engine.spi.BuiltinStep;
import dev.kiln.engine.task.Completion;
import dev.kiln.steps.Outputs;
import dev.kiln.steps.With;
import dev.kiln.steps.table.DataException;
import dev.kiln.steps.table.Table;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code uses: data/validate}: {@code with: {data (or dataset), schema, fail}}. Fails the step when
 * a check fails (unless {@code fail: false}); the report is in the step's log.
 */
public final class ValidateStep implements BuiltinStep {
  @Override
  public String name() {
    return "data/validate";
  }

  @Override
  public BuiltinSpec spec() {
    return new BuiltinSpec(
        "data/validate",
        "Checks a CSV or Parquet file against a schema YAML (columns, types, ranges, nulls, uniqueness).",
        List.of(
            WithKey.optional("data", Type.PATH, "the CSV or Parquet file"),
            WithKey.optional(
                "dataset",
                Type.PATH,
                "the same as data (e.g. the path output of a dataset/version step)"),
            WithKey.required("schema", Type.PATH, "the schema YAML (kiln schema infer writes one)"),
            WithKey.optional(
                "fail", Type.BOOLEAN, "fail the step when a check fails (default true)")),
        Outputs.of(
            "passed",
            "true or false",
            "failures",
            "failed checks",
            "rows",
            "rows read",
            "checks",
            "checks made"));
  }

  @Override
  public Completion run(Context ctx) throws Exception {
    With w = new With(name(), ctx.with(), ctx.paths());
    ValidationReport report;
    boolean fail;
    try {
      var dataPath = w.has("data") ? w.path("data") : w.path("dataset");
      var schemaPath = w.path("schema");
      fail = w.bool("fail", true);
      Schema schema = SchemaParser.parse(schemaPath);
      try (Table d = Table.open(dataPath)) {
        report = Validator.validate(d, schema);
      }
    } catch (With.BadInput e) {
      return Completion.invalid(e.getMessage());
    } catch (DataException e) {
      return Completion.failed(name() + ": " + e.getMessage().replace("\n", "; "));
    }
    report.text().lines().forEach(l -> ctx.logs().line("system", l));
    Map<String, String> out = new LinkedHashMap<>();
    out.put("passed", String.valueOf(report.passed()));
    out.put("failures", String.valueOf(report.failures().size()));
    out.put("rows", String.valueOf(report.rows()));
    out.put("checks", String.valueOf(report.checks().size()));
    boolean failed = fail && !report.passed();
    String error =
        failed
            ? name()
                + ": "
                + report.failures().size()
                + " of "
                + report.checks().size()
                + " checks failed; first: "
                + report.text().lines().findFirst().orElse("")
            : null;
    return new Completion(
        failed ? Completion.Outcome.FAILED : Completion.Outcome.SUCCEEDED,
        null,
        error,
        out,
        List.of(new Completion.Metric("validation_failures", report.failures().size())),
        List.of());
  }
}
