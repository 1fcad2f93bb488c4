package dev.kiln.workers;

import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Hostile values, a pipeline that prints each one's sha256 from every shell quoting context, and a
 * scan of every text column of the store (docs/security.md).
 */
public final class Hostile {
  private Hostile() {}

  /** Values that would run {@code touch pwned} if the shell ever parsed them. */
  public static List<String> values(Path pwned) {
    String p = pwned.toString();
    return List.of(
        "$(touch " + p + ")",
        "`touch " + p + "`",
        "x; touch " + p,
        "x\ntouch " + p,
        "it's \"q\" $(touch " + p + ") '",
        "${{ secrets.KILN_TEST }}");
  }

  /**
   * A pipeline with params p0..pN-1 whose steps print {@code LABEL<i> <sha256>} for each value:
   * unquoted, in double quotes, in single quotes, through a step output (values without a newline)
   * and as matrix values.
   */
  public static String pipeline(String name, List<String> values) {
    StringBuilder y = new StringBuilder("name: " + name + "\nparams:\n");
    for (int i = 0; i < values.size(); i++) {
      y.append("  p").append(i).append(": { type: string }\n");
    }
    y.append("steps:\n");
    String[][] contexts = {
      {"plain", "${{ params.pI }}"}, {"dq", "\"${{ params.pI }}\""}, {"sq", "'${{ params.pI }}'"}
    };
    for (String[] c : contexts) {
      y.append("  ").append(c[0]).append(":\n    run: |\n");
      for (int i = 0; i < values.size(); i++) {
        y.append("      printf '")
            .append(c[0])
            .append(i)
            .append(" '; printf '%s' ")
            .append(c[1].replace("pI", "p" + i))
            .append(" | sha256sum\n");
      }
    }
    y.append("  out:\n    env:\n");
    List<Integer> oneLine = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      if (!values.get(i).contains("\n")) {
        oneLine.add(i);
        y.append("      V").append(i).append(": \"${{ params.p").append(i).append(" }}\"\n");
      }
    }
    y.append("    run: |\n");
    for (int i : oneLine) {
      y.append("      printf 'o").append(i).append("=%s\\n' \"$V").append(i);
      y.append("\" >> \"$KILN_OUTPUTS\"\n");
    }
    y.append("  use:\n    needs: [out]\n    run: |\n");
    for (int i : oneLine) {
      y.append("      printf 'use").append(i).append(" '; printf '%s' ${{ steps.out.outputs.o");
      y.append(i).append(" }} | sha256sum\n");
    }
    y.append("  matrix:\n    matrix: { v: ")
        .append(Json.write(matrixValues(values)))
        .append(" }\n");
    y.append("    run: printf 'm '; printf '%s' ${{ matrix.v }} | sha256sum\n");
    return y.toString();
  }

  /** The log lines each step must print, as {@code LABEL<i> <sha256> -}. */
  public static List<String> expectedLines(List<String> values) {
    List<String> out = new ArrayList<>();
    for (String c : List.of("plain", "dq", "sq")) {
      for (int i = 0; i < values.size(); i++) {
        out.add(c + i + " " + sha256(values.get(i)) + "  -");
      }
    }
    for (int i = 0; i < values.size(); i++) {
      if (!values.get(i).contains("\n")) {
        out.add("use" + i + " " + sha256(values.get(i)) + "  -");
      }
    }
    for (String v : matrixValues(values)) {
      out.add("m " + sha256(v) + "  -");
    }
    return out;
  }

  /** Matrix values are written in the YAML, where {@code ${{}} is refused. */
  static List<String> matrixValues(List<String> values) {
    return values.stream().filter(v -> !v.contains("${{")).toList();
  }

  public static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every stdout line the run's steps printed. */
  public static List<String> stdout(TestDb.Url db, long run) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement ps =
            c.prepareStatement(
                "select l.line from task_logs l join tasks t on t.id = l.task_id"
                    + " where t.run_id = ? and l.stream = 'stdout' order by l.id")) {
      ps.setLong(1, run);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  /**
   * Every {@code table.column} of the store (any schema but the catalogs) whose text holds {@code
   * value}: each column of every table, read as text, so jsonb, arrays and bytea-free text types
   * are all covered.
   */
  public static List<String> storeColumnsContaining(TestDb.Url db, String value) throws Exception {
    List<String> found = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      List<String[]> columns = new ArrayList<>();
      try (ResultSet rs =
          c.createStatement()
              .executeQuery(
                  "select c.table_schema, c.table_name, c.column_name from"
                      + " information_schema.columns c join information_schema.tables t"
                      + " on t.table_schema = c.table_schema and t.table_name = c.table_name"
                      + " where t.table_type = 'BASE TABLE' and c.table_schema not in"
                      + " ('pg_catalog', 'information_schema') and c.data_type <> 'bytea'")) {
        while (rs.next()) {
          columns.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
        }
      }
      for (String[] col : columns) {
        String sql =
            "select count(*) from \""
                + col[0]
                + "\".\""
                + col[1]
                + "\" where strpos(\""
                + col[2]
                + "\"::text, ?) > 0";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
          ps.setString(1, value);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getLong(1) > 0) {
              found.add(col[1] + "." + col[2]);
            }
          }
        }
      }
      if (columns.size() < 20) {
        throw new AssertionError("the store scan found only " + columns.size() + " columns");
      }
    }
    return found;
  }
}
