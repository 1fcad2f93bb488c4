// Writes the feature store example's data, seeded, so the same files come out every time:
//   java pipelines/features/Generate.java [OUT_DIR]     (Java 17 runs a single source file)
// customers.csv       profile rows (segment, tenure), some customers updated mid-month
// daily_stats.csv     one row per customer and day with 7/30-day aggregates; some days missing,
//                     some rows late (created two days after their event time), some corrected
//                     (a second row with the same event time, created later, other values)
// entities.csv        labelled entity rows: customer, a moment in March 2024, churned or not
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Random;

public class Generate {
  static final int CUSTOMERS = 200;
  static final int DAYS = 30;
  static final Instant START = Instant.parse("2024-03-01T00:00:00Z");

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "pipelines/features/data");
    Files.createDirectories(out);
    Random r = new Random(42);
    double[] risk = new double[CUSTOMERS + 1];
    for (int c = 1; c <= CUSTOMERS; c++) {
      risk[c] = r.nextDouble();
    }
    String[] segments = {"basic", "plus", "pro"};
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("customers.csv")))) {
      w.println("customer_id,updated_at,segment,tenure_months");
      for (int c = 1; c <= CUSTOMERS; c++) {
        int seg = risk[c] > 0.7 ? 0 : r.nextInt(3);
        w.printf("%d,%s,%s,%d%n", c, START.minus(Duration.ofDays(90)), segments[seg], 1 + r.nextInt(48));
        if (r.nextDouble() < 0.1) {
          w.printf("%d,%s,%s,%d%n", c, START.plus(Duration.ofDays(15)), segments[r.nextInt(3)], 1 + r.nextInt(48));
        }
      }
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("daily_stats.csv")))) {
      w.println("customer_id,event_ts,created_ts,spend_7d,orders_7d,tickets_30d");
      for (int day = 0; day < DAYS; day++) {
        Instant ts = START.plus(Duration.ofDays(day));
        for (int c = 1; c <= CUSTOMERS; c++) {
          if (r.nextDouble() < 0.1) {
            continue; // no row that day: the ttl decides how long the last one counts
          }
          boolean late = r.nextDouble() < 0.05;
          Instant created = ts.plus(late ? Duration.ofDays(2) : Duration.ofHours(1));
          double spend = Math.max(0, 120 * (1 - risk[c]) + r.nextGaussian() * 15);
          int orders = Math.max(0, (int) Math.round(6 * (1 - risk[c]) + r.nextGaussian()));
          int tickets = Math.max(0, (int) Math.round(4 * risk[c] + r.nextGaussian()));
          w.printf(Locale.ROOT, "%d,%s,%s,%.2f,%d,%d%n", c, ts, created, spend, orders, tickets);
          if (r.nextDouble() < 0.03) {
            // a correction: same event time, created later, different values; it wins
            w.printf(
                Locale.ROOT,
                "%d,%s,%s,%.2f,%d,%d%n",
                c, ts, created.plus(Duration.ofDays(1)), spend * 0.9, orders, tickets + 1);
          }
        }
      }
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("entities.csv")))) {
      w.println("customer_id,event_timestamp,churned");
      for (int i = 0; i < 1000; i++) {
        int c = 1 + r.nextInt(CUSTOMERS);
        Instant at = START.plus(Duration.ofMinutes(r.nextInt(DAYS * 24 * 60)));
        int churned = r.nextDouble() < risk[c] * 0.9 ? 1 : 0;
        w.printf("%d,%s,%d%n", c, at, churned);
      }
    }
  }
}
