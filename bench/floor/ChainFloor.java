import java.io.File;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a chain step costs a JVM with nothing of Kiln in it (bench/floor/run.sh): start `sh -c true`
 * and wait for it, then record the step in the store in one autocommitted statement, or in four
 * statements and a commit (the shape of Kiln's completion: lock and settle, read, queue, claim).
 * Also the machine's process-start ceiling: `sh -c true` from 1, 2 and 8 threads at once.
 *
 * <p>java -cp PGJDBC_JAR ChainFloor.java JDBC_URL [STEPS]
 */
public final class ChainFloor {
  public static void main(String[] args) throws Exception {
    System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
    String url = args[0];
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    try (Connection c = DriverManager.getConnection(url)) {
      c.createStatement()
          .execute(
              "create table if not exists floor_steps (id bigserial primary key, run bigint,"
                  + " step int, status text, at timestamptz default now())");
      String[] modes = {"spawn and wait only", "+ 1 statement (autocommit)", "+ 4 statements, commit"};
      List<List<Double>> ms = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
      for (int rep = 0; rep < 6; rep++) {
        for (int mode = 0; mode < 3; mode++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < steps; i++) {
            spawn();
            record(c, mode, rep * 10 + mode, i);
          }
          ms.get(mode).add((System.nanoTime() - t0) / 1e6 / steps);
        }
      }
      for (int mode = 0; mode < 3; mode++) {
        List<Double> m = ms.get(mode);
        Collections.sort(m);
        System.out.printf(
            "chain of %d, %-28s %.2f ms/step median of %d (%.2f-%.2f)%n",
            steps, modes[mode], (m.get(2) + m.get(3)) / 2, m.size(), m.get(0), m.get(5));
      }
      c.createStatement().execute("drop table floor_steps");
    }
    for (int threads : new int[] {1, 2, 8}) {
      System.out.printf(
          "process starts a second from %d thread(s): %.0f%n", threads, ceiling(threads, 5000));
    }
  }

  private static void spawn() throws Exception {
    new ProcessBuilder("sh", "-c", "true")
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start()
        .waitFor();
  }

  private static void record(Connection c, int mode, long run, int step) throws SQLException {
    if (mode == 1) {
      c.setAutoCommit(true);
      try (PreparedStatement ps =
          c.prepareStatement(
              "with s as (update floor_steps set status = 'succeeded' where run = ? and step = ?)"
                  + " insert into floor_steps (run, step, status) values (?, ?, 'running')")) {
        ps.setLong(1, run);
        ps.setInt(2, step);
        ps.setLong(3, run);
        ps.setInt(4, step + 1);
        ps.executeUpdate();
      }
    } else if (mode == 2) {
      c.setAutoCommit(false);
      String[] sql = {
        "update floor_steps set status = 'succeeded' where run = ? and status = 'running'",
        "select id, status from floor_steps where run = ?",
        "insert into floor_steps (run, step, status) values (?, 0, 'queued')",
        "update floor_steps set status = 'running' where run = ? and status = 'queued'"
      };
      for (int k = 0; k < sql.length; k++) {
        try (PreparedStatement ps = c.prepareStatement(sql[k])) {
          ps.setLong(1, run);
          if (k == 1) {
            ps.executeQuery().close();
          } else {
            ps.executeUpdate();
          }
        }
      }
      c.commit();
    }
  }

  private static double ceiling(int threads, long millis) throws Exception {
    AtomicLong n = new AtomicLong();
    long end = System.nanoTime() + millis * 1_000_000;
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t =
          new Thread(
              () -> {
                try {
                  while (System.nanoTime() < end) {
                    spawn();
                    n.incrementAndGet();
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      t.start();
      ts.add(t);
    }
    for (Thread t : ts) {
      t.join();
    }
    return n.get() * 1000.0 / millis;
  }
}
