package dev.kiln.steps.serve;

import dev.kiln.engine.store.Database;
import dev.kiln.steps.With;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The live traffic of a deployment as data files for the monitors: {@link #inputs} (the rows sent,
 * for drift/check's current data) and {@link #predictions} (id, prediction, score, for
 * metrics/check, whose late labels join on the id). The id of a row is its request id ({@code
 * Kiln-Request-Id}), followed by {@code :ROW} (from 0) when the request had several rows.
 */
public final class LiveTraffic {
  /** At most this many rows are read for one check, the oldest first. */
  public static final int MAX_ROWS = 1_000_000;

  private static final Pattern AGO = Pattern.compile("(\\d+)\\s*([smhd])");

  private LiveTraffic() {}

  /** {@code NAME@ALIAS}: the deployment whose traffic is read. */
  public record Ref(String name, String alias) {
    /** Parses NAME@ALIAS; the message of the exception says what is wrong. */
    public static Ref parse(String text) {
      int at = text == null ? -1 : text.lastIndexOf('@');
      if (at <= 0 || at == text.length() - 1) {
        throw new IllegalArgumentException("'" + text + "' is not NAME@ALIAS");
      }
      return new Ref(text.substring(0, at), text.substring(at + 1));
    }

    @Override
    public String toString() {
      return name + "@" + alias;
    }
  }

  /** The traffic of one deployment since a time. */
  public record Window(Ref ref, Instant since) {
    /** What a check says when the window holds no rows. */
    public String empty() {
      return "no live traffic of "
          + ref
          + (since.equals(Instant.EPOCH) ? "" : " since " + since)
          + " (requests are logged by 'kiln deploy' and model/deploy)";
    }
  }

  /** The window a step's {@code live} and {@code since} keys name. */
  public static Window window(With w) throws With.BadInput {
    Ref ref;
    try {
      ref = Ref.parse(w.string("live"));
    } catch (IllegalArgumentException e) {
      throw w.bad("live", e.getMessage());
    }
    try {
      return new Window(ref, since(w.string("since", null), Instant.now()));
    } catch (IllegalArgumentException e) {
      throw w.bad("since", e.getMessage());
    }
  }

  /**
   * Where a window of traffic starts: an ISO-8601 instant ({@code 2026-11-30T08:00:00Z}), or a time
   * back from now ({@code 90s}, {@code 30m}, {@code 24h}, {@code 7d}); blank = everything.
   */
  public static Instant since(String text, Instant now) {
    if (text == null || text.isBlank()) {
      return Instant.EPOCH;
    }
    Matcher m = AGO.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      Duration d =
          switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
          };
      return now.minus(d);
    }
    try {
      return Instant.parse(text.trim());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is neither an ISO-8601 time (2026-11-30T08:00:00Z) nor 30m, 24h, 7d");
    }
  }

  /** Writes the input rows received since then as CSV (columns in first-seen order); row count. */
  public static int inputs(Database db, Window win, Path csv) throws IOException {
    List<ServingStore.Logged> rows = read(db, win);
    Set<String> columns = new LinkedHashSet<>();
    for (ServingStore.Logged r : rows) {
      columns.addAll(r.inputs().keySet());
    }
    try (BufferedWriter w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
      line(w, new ArrayList<>(columns));
      for (ServingStore.Logged r : rows) {
        List<Object> values = new ArrayList<>();
        for (String c : columns) {
          values.add(r.inputs().get(c));
        }
        line(w, values);
      }
    }
    return rows.size();
  }

  /**
   * Writes id, prediction, score (the probability of {@code positive}, empty without one), version
   * and received_at of the rows received since then as CSV; row count.
   */
  public static int predictions(Database db, Window win, String positive, Path csv)
      throws IOException {
    List<ServingStore.Logged> rows = read(db, win);
    try (BufferedWriter w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
      line(w, List.of("id", "prediction", "score", "version", "received_at"));
      for (ServingStore.Logged r : rows) {
        Map<String, Double> p = r.probabilities();
        List<Object> values = new ArrayList<>();
        values.add(r.rowsInRequest() == 1 ? r.requestId() : r.requestId() + ":" + r.row());
        values.add(r.prediction());
        values.add(p == null || positive == null ? null : p.get(positive));
        values.add(r.version());
        values.add(r.receivedAt());
        line(w, values);
      }
    }
    return rows.size();
  }

  private static List<ServingStore.Logged> read(Database db, Window win) {
    return new ServingStore(db).live(win.ref().name(), win.ref().alias(), win.since(), MAX_ROWS);
  }

  private static void line(BufferedWriter w, List<?> values) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      Object v = values.get(i);
      String s = v == null ? "" : String.valueOf(v);
      if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0) {
        s = '"' + s.replace("\"", "\"\"") + '"';
      }
      b.append(s);
    }
    w.write(b.append('\n').toString());
  }
}
