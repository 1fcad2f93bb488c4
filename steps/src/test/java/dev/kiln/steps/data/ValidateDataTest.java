package dev.kiln.steps.data;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.store.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code kiln validate-data} and {@code kiln schema infer} on real and broken files. */
class ValidateDataTest {
  static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  static final Path BREAST = REPO.resolve("pipelines/monitor/data/breast_cancer.csv");
  static final Path SCHEMA = REPO.resolve("pipelines/monitor/schema.yaml");
  @TempDir Path tmp;

  record Out(int exit, String out, String err) {}

  static Out kiln(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Out(exit, out.toString(), err.toString());
  }

  static Out validate(String... args) {
    return kiln(new ValidateDataCommand(), args);
  }

  @Test
  void realDataPassesItsSchema() {
    Out o = validate(BREAST.toString(), "--schema", SCHEMA.toString());
    assertThat(o.exit()).as(o.out() + o.err()).isZero();
    assertThat(o.out()).startsWith("PASSED").contains("569 rows");
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyFailedCheckIsNamedWithItsCountAndAtMostFiveRows() throws Exception {
    Path data = tmp.resolve("batch.csv");
    StringBuilder csv = new StringBuilder("id,radius,kind,code,flag\n");
    csv.append("1,10,a,AB1,true\n");
    csv.append("2,oops,a,AB2,true\n"); // not a number
    csv.append("3,,b,xx,false\n"); // null radius, code does not match
    csv.append("3,99,c,AB4,maybe\n"); // duplicate id, radius > max, kind not allowed
    for (int i = 5; i <= 12; i++) {
      csv.append(i).append(",-").append(i).append(",a,AB").append(i).append(",true\n"); // below min
    }
    Files.writeString(data, csv.toString());
    Path schema = tmp.resolve("schema.yaml");
    Files.writeString(
        schema,
        """
        columns:
          id: { type: integer, unique: true }
          radius: { type: number, nullable: false, min: 0, max: 50, mean: { min: 5, max: 20 } }
          kind: { type: string, allowed: [a, b] }
          code: { type: string, pattern: "AB[0-9]+" }
          flag: { type: boolean }
          missing: { type: number }
        rows: { min: 20 }
        """);
    Out o = validate(data.toString(), "--schema", schema.toString(), "--json");
    assertThat(o.exit()).as(o.err()).isEqualTo(1);
    Map<String, Object> r = Json.readMap(o.out());
    assertThat(r.get("passed")).isEqualTo(false);
    List<Map<String, Object>> f = (List<Map<String, Object>>) r.get("failures");
    Map<String, Map<String, Object>> by = new HashMap<>();
    f.forEach(x -> by.put(x.get("column") + "/" + x.get("check"), x));
    assertThat(by)
        .containsOnlyKeys(
            "null/rows",
            "missing/present",
            "id/unique",
            "radius/type number",
            "radius/not null",
            "radius/min 0",
            "radius/max 50",
            "radius/mean",
            "kind/allowed",
            "code/pattern",
            "flag/type boolean");
    assertThat(by.get("radius/type number").get("count")).isEqualTo(1);
    assertThat((List<Map<String, Object>>) by.get("radius/type number").get("rows"))
        .containsExactly(Map.of("row", 2, "value", "oops"));
    assertThat(by.get("radius/min 0").get("count")).isEqualTo(8);
    assertThat((List<?>) by.get("radius/min 0").get("rows")).hasSize(5);
    assertThat(by.get("id/unique").get("count")).isEqualTo(2);
    assertThat((String) by.get("missing/present").get("message"))
        .contains("column 'missing'")
        .contains(schema + ":7)")
        .contains("missing from the data");
    assertThat((String) by.get("null/rows").get("message")).contains("12 rows");

    Out text = validate(data.toString(), "--schema", schema.toString());
    assertThat(text.out())
        .contains("FAIL radius: type number: 1 values are not a number (e.g. row 2: 'oops')")
        .contains("FAILED " + data);
  }

  @Test
  void schemaMistakesAreAllReportedWithFileLineAndField() throws Exception {
    Path schema = tmp.resolve("bad.yaml");
    Files.writeString(
        schema,
        """
        columns:
          a: { type: float }
          b: { type: number, min: x, colour: red }
        """);
    Out o = validate(BREAST.toString(), "--schema", schema.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().lines())
        .containsExactly(
            "kiln: "
                + schema
                + ":2:14: columns.a.type: 'float' is not a type; use integer, number,"
                + " string, boolean or timestamp",
            "kiln: " + schema + ":3:27: columns.b.min: 'x' is not a number",
            "kiln: "
                + schema
                + ":3:30: columns.b.colour: unknown rule; use allowed, description, max,"
                + " mean, min, null_fraction, nullable, pattern, stddev, type, unique");
  }

  @Test
  void schemaYamlErrorsCarryFileLineAndColumnLikePipelineErrors() throws Exception {
    Path schema = tmp.resolve("dup.yaml");
    Files.writeString(schema, "columns:\n  a: { type: number\nrows: 1\n");
    Out o = validate(BREAST.toString(), "--schema", schema.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip()).startsWith("kiln: " + schema + ":3:5: invalid YAML");

    Files.writeString(schema, "columns:\n  a: { type: number }\n  a: { type: string }\n");
    o = validate(BREAST.toString(), "--schema", schema.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip())
        .isEqualTo("kiln: " + schema + ":3:3: duplicate key 'a' (first defined at line 2)");

    Files.writeString(schema, "# nothing yet\n");
    o = validate(BREAST.toString(), "--schema", schema.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip())
        .isEqualTo(
            "kiln: " + schema + ": empty file (only comments): a data schema needs 'columns'");
  }

  @Test
  void raggedCsvIsBadInputNotAStackTrace() throws Exception {
    Path data = tmp.resolve("ragged.csv");
    Files.writeString(data, "a,b\n1,2\n3\n");
    Out o = validate(data.toString(), "--schema", SCHEMA.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip())
        .isEqualTo("kiln: " + data + ": cannot read: line 3 has 1 fields, the header has 2");
  }

  @Test
  void inferredSchemaValidatesItsOwnDataIncludingParquet() throws Exception {
    Path pq = tmp.resolve("breast.parquet");
    try (var c = DriverManager.getConnection("jdbc:duckdb:");
        var st = c.createStatement()) {
      st.execute(
          "copy (select * from read_csv('" + BREAST + "')) to '" + pq + "' (format parquet)");
    }
    Path schema = tmp.resolve("inferred.yaml");
    Out inf = kiln(new SchemaCommand(), "infer", pq.toString(), "-o", schema.toString());
    assertThat(inf.exit()).as(inf.err()).isZero();
    String yaml = Files.readString(schema);
    assertThat(yaml)
        .contains("mean_radius:")
        .contains("type: number")
        .contains("allowed:\n    - benign\n    - malignant");
    Out o = validate(pq.toString(), "--schema", schema.toString());
    assertThat(o.exit()).as(o.out()).isZero();
    assertThat(validate(BREAST.toString(), "--schema", schema.toString()).exit()).isZero();
  }
}
