package dev.kiln.steps.drift;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.steps.table.Table;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every method against the numbers scipy 1.10 gives on the same files (made by
 * src/test/resources/drift/make_fixtures.py from breast_cancer.csv).
 */
class DriftFixturesTest {
  static final Path DIR = Path.of("src", "test", "resources", "drift");

  @Test
  void everyMethodMatchesScipyOnRealData() throws Exception {
    JsonNode expected = new ObjectMapper().readTree(DIR.resolve("expected.json").toFile());
    List<String> mismatches = new ArrayList<>();
    int compared = 0;
    for (JsonNode pair : expected.get("pairs")) {
      try (Table ref = Table.open(DIR.resolve(pair.get("reference").asText()));
          Table cur = Table.open(DIR.resolve(pair.get("current").asText()))) {
        int bins = pair.get("bins").asInt();
        for (Iterator<Map.Entry<String, JsonNode>> it = pair.get("columns").fields();
            it.hasNext(); ) {
          var col = it.next();
          for (Iterator<Map.Entry<String, JsonNode>> ms = col.getValue().fields(); ms.hasNext(); ) {
            var m = ms.next();
            String where =
                pair.get("current").asText()
                    + " bins="
                    + bins
                    + " "
                    + col.getKey()
                    + " "
                    + m.getKey();
            if (m.getKey().equals("auto")) {
              ColumnDrift got = one(ref, cur, col.getKey(), Method.AUTO, bins);
              if (!m.getValue().asText().equals(got.method())) {
                mismatches.add(where + ": chose " + got.method() + ", expected " + m.getValue());
              }
              continue;
            }
            if (m.getKey().equals("ks_asymp")) {
              continue;
            }
            ColumnDrift got = one(ref, cur, col.getKey(), Method.parse(m.getKey()), bins);
            compared++;
            check(
                mismatches,
                where + " statistic",
                m.getValue().get("statistic"),
                got.statistic(),
                1e-9);
            if (m.getKey().equals("ks") && ref.rows() + cur.rows() > 1000) {
              // Documented difference: beyond ~1,000 values in total commons-math's exact count
              // overflows, so Kiln takes scipy's asymptotic p-value (method='asymp'), which is
              // within 0.005 of scipy's exact one here.
              check(
                  mismatches,
                  where + " p_value (asymp)",
                  col.getValue().get("ks_asymp").get("p_value"),
                  got.pValue(),
                  1e-6);
              checkAbs(
                  mismatches,
                  where + " p_value (exact)",
                  m.getValue().get("p_value"),
                  got.pValue(),
                  0.005);
            } else {
              check(
                  mismatches, where + " p_value", m.getValue().get("p_value"), got.pValue(), 1e-6);
            }
          }
        }
      }
    }
    assertThat(mismatches).isEmpty();
    assertThat(compared).as("numbers compared").isEqualTo(140);
  }

  private static ColumnDrift one(Table ref, Table cur, String column, Method m, int bins)
      throws Exception {
    DriftReport r =
        DriftAnalyzer.compare(ref, cur, new DriftOptions(m, List.of(column), bins, null, 0.5));
    assertThat(r.columns()).hasSize(1);
    assertThat(r.columns().get(0).error()).isNull();
    return r.columns().get(0);
  }

  private static void checkAbs(
      List<String> bad, String where, JsonNode want, Double got, double tol) {
    if (got == null || Math.abs(got - want.asDouble()) > tol) {
      bad.add(where + ": expected " + want.asDouble() + " within " + tol + ", got " + got);
    }
  }

  private static void check(List<String> bad, String where, JsonNode want, Double got, double tol) {
    if (want == null || want.isNull()) {
      if (got != null) {
        bad.add(where + ": expected null, got " + got);
      }
      return;
    }
    double w = want.asDouble();
    if (got == null || Math.abs(got - w) > tol * Math.max(1, Math.abs(w))) {
      bad.add(where + ": expected " + w + ", got " + got);
    }
  }
}
