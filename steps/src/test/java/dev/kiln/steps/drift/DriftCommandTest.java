package dev.kiln.steps.drift;

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

/** {@code kiln drift} on real files: the report, its JSON and HTML, and bad input. */
class DriftCommandTest {
  static final Path DIR = DriftFixturesTest.DIR.toAbsolutePath();
  static final String REF = DIR.resolve("reference.csv").toString();
  @TempDir Path tmp;

  record Out(int exit, String out, String err) {}

  static Out drift(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new DriftCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Out(exit, out.toString(), err.toString());
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> columns(Map<String, Object> report) {
    return (List<Map<String, Object>>) report.get("columns");
  }

  @Test
  void shiftedBatchDriftsWhileTheOtherHalfOfTheSameDataDoesNot() {
    Out shifted = drift(REF, DIR.resolve("current_shifted.csv").toString(), "--json");
    Out same = drift(REF, DIR.resolve("current_same.csv").toString(), "--json");
    assertThat(shifted.exit()).as(shifted.err()).isZero();
    Map<String, Object> s = Json.readMap(shifted.out());
    Map<String, Object> n = Json.readMap(same.out());
    assertThat(s.get("drifted")).isEqualTo(true);
    assertThat(n.get("drifted")).isEqualTo(false);
    assertThat((Double) s.get("share_drifted")).isGreaterThanOrEqualTo(0.5);
    Map<String, Object> radius =
        columns(s).stream()
            .filter(c -> c.get("column").equals("mean_radius"))
            .findFirst()
            .orElseThrow();
    assertThat(radius)
        .containsKeys("column", "type", "method", "statistic", "p_value", "threshold", "drifted");
    assertThat(radius.get("method")).isEqualTo("ks");
    assertThat(radius.get("drifted")).isEqualTo(true);
    Map<String, Object> diagnosis =
        columns(s).stream()
            .filter(c -> c.get("column").equals("diagnosis"))
            .findFirst()
            .orElseThrow();
    assertThat(diagnosis.get("type")).isEqualTo("categorical");
    assertThat(diagnosis.get("method")).isEqualTo("chisquare");
  }

  @Test
  void distanceMethodsReportNoPValueAndOptionsNarrowTheReport() {
    Out o =
        drift(
            REF,
            DIR.resolve("current_shifted.csv").toString(),
            "--json",
            "--method",
            "psi",
            "--columns",
            "mean_radius,mean_smoothness",
            "--bins",
            "4",
            "--threshold",
            "0.2",
            "--drift-share",
            "1");
    Map<String, Object> r = Json.readMap(o.out());
    assertThat(columns(r))
        .extracting(c -> c.get("column"))
        .containsExactly("mean_radius", "mean_smoothness");
    assertThat(columns(r))
        .allSatisfy(
            c -> {
              assertThat(c.get("p_value")).isNull();
              assertThat(c.get("threshold")).isEqualTo(0.2);
            });
    assertThat(r.get("drifted"))
        .as("one of two columns drifted, share 1 required")
        .isEqualTo(false);
  }

  @Test
  void htmlReportIsOneSelfContainedFileWithEveryColumnDrawn() throws Exception {
    Path html = tmp.resolve("report.html");
    Out o = drift(REF, DIR.resolve("current_shifted.csv").toString(), "--html", html.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out()).contains("mean_radius").contains("DRIFT");
    String page = Files.readString(html);
    assertThat(page)
        .contains("<table")
        .doesNotContain("<script")
        .doesNotContain("src=")
        .doesNotContain("href=\"http")
        .doesNotContain("@import");
    for (String col : List.of("mean_radius", "mean_texture", "worst_area", "diagnosis")) {
      assertThat(page).contains("id=\"c-" + col + "\"");
    }
    assertThat(page.split("<svg xmlns").length - 1).isEqualTo(6);
    assertThat(page).contains("class=\"ref\"").contains("class=\"cur\"");
  }

  @Test
  void parquetFilesGiveTheSameReportAsTheirCsv() throws Exception {
    Path refPq = tmp.resolve("reference.parquet");
    Path curPq = tmp.resolve("current.parquet");
    try (var c = DriverManager.getConnection("jdbc:duckdb:");
        var st = c.createStatement()) {
      st.execute(
          "copy (select * from read_csv('" + REF + "')) to '" + refPq + "' (format parquet)");
      st.execute(
          "copy (select * from read_csv('"
              + DIR.resolve("current_shifted.csv")
              + "')) to '"
              + curPq
              + "' (format parquet)");
    }
    Map<String, Object> csv =
        Json.readMap(drift(REF, DIR.resolve("current_shifted.csv").toString(), "--json").out());
    Map<String, Object> pq =
        Json.readMap(drift(refPq.toString(), curPq.toString(), "--json").out());
    assertThat(columns(pq)).isEqualTo(columns(csv));
  }

  @Test
  void emptyCurrentDataSetIsABadInputNamingTheFile() throws Exception {
    Path empty = tmp.resolve("empty.csv");
    Files.writeString(empty, "mean_radius,diagnosis\n");
    Out o = drift(REF, empty.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip()).isEqualTo("kiln: " + empty + ": the current data set has no rows");
  }

  @Test
  void raggedCsvIsABadInputNamingTheFileAndLine() throws Exception {
    Path ragged = tmp.resolve("ragged.csv");
    Files.writeString(ragged, "a,b\n1,2\n3,4,5\n6,7\n");
    Out o = drift(REF, ragged.toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err())
        .startsWith("kiln: " + ragged + ": cannot read: line 3 has 3 fields, the header has 2")
        .doesNotContain("\tat ");
    assertThat(o.err().strip().lines()).hasSize(1);
  }

  @Test
  void aBadValueFarIntoAStreamedFileIsABadInputNamingTheLine() throws Exception {
    // Far past DuckDB's type sniffing sample, so the error comes while the rows stream, where the
    // driver drops it: the scan must still fail, naming the line, the column and the value.
    Path bad = tmp.resolve("late-bad.csv");
    StringBuilder csv = new StringBuilder("mean_radius\n");
    for (int i = 0; i < 200_000; i++) {
      csv.append(i == 190_000 ? "abc" : Integer.toString(i % 30)).append('\n');
    }
    Files.writeString(bad, csv);
    Out o = drift(REF, bad.toString(), "--columns", "mean_radius");
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip())
        .isEqualTo(
            "kiln: "
                + bad
                + ": cannot read: line 190002: Error when converting column \"mean_radius\"."
                + " Could not convert string \"abc\" to 'BIGINT'");
    assertThat(o.out()).isEmpty();
  }

  @Test
  void aBadValueOnTheLastLineOfTheReferenceIsABadInput() throws Exception {
    // The last row of a file, in its second column, in the reference (read on another thread).
    Path bad = tmp.resolve("last-bad.csv");
    StringBuilder csv = new StringBuilder("id,mean_radius\n");
    int rows = 300_000;
    for (int i = 0; i < rows; i++) {
      csv.append(i).append(',').append(i == rows - 1 ? "x1" : (i % 30) + ".5").append('\n');
    }
    Files.writeString(bad, csv);
    Out o = drift(bad.toString(), REF, "--columns", "mean_radius");
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err().strip())
        .startsWith("kiln: " + bad + ": cannot read: line " + (rows + 1) + ": ")
        .contains("\"x1\"")
        .doesNotContain("\tat ");
    assertThat(o.err().strip().lines()).hasSize(1);
    assertThat(o.out()).isEmpty();
  }

  @Test
  void unknownColumnAndUnknownMethodAreBadInput() {
    Out col = drift(REF, REF, "--columns", "nope");
    assertThat(col.exit()).isEqualTo(2);
    assertThat(col.err()).contains("column 'nope'");
    Out m = drift(REF, REF, "--method", "kl");
    assertThat(m.exit()).isEqualTo(2);
    assertThat(m.err()).contains("unknown drift method 'kl'");
  }

  @Test
  void problemColumnsAreReportedPerColumnWithoutStoppingTheOthers() throws Exception {
    Path ref = tmp.resolve("ref.csv");
    Path cur = tmp.resolve("cur.csv");
    Files.writeString(
        ref,
        "x,constant,empty,only_ref,num\n1,5,,a,1.5\n2,5,,b,2.5\n3,5,,c,3.5\n"
            + "4,5,,d,4\n5,5,,e,5\n6,5,,f,6\n7,5,,g,7\n");
    Files.writeString(
        cur,
        "x,constant,empty,num\n2,5,,1\n3,5,,2\n4,5,,oops\n5,5,,3\n6,5,,4\n" + "7,5,,5\n8,5,,6\n");
    Out o = drift(ref.toString(), cur.toString(), "--json", "--method", "wasserstein");
    assertThat(o.exit()).as(o.err()).isZero();
    Map<String, Map<String, Object>> by = new HashMap<>();
    columns(Json.readMap(o.out())).forEach(c -> by.put((String) c.get("column"), c));
    assertThat((Double) by.get("x").get("statistic")).isGreaterThan(0);
    assertThat(by.get("constant").get("statistic")).as("std 0 divides by 0.001").isEqualTo(0.0);
    assertThat((String) by.get("empty").get("error")).contains("all values are null");
    assertThat((String) by.get("only_ref").get("error")).contains("missing from the current");
    assertThat((String) by.get("num").get("error")).contains("numeric in one data set");
  }
}
