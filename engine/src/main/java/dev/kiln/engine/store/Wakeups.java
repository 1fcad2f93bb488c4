package dev.kiln.engine.store;

import dev.kiln.engine.util.DaemonThreads;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wake-ups (NOTIFY on {@code kiln_tasks}, {@code kiln_events}, ...) of the store's writes, sent
 * after the transaction that made them commits, from a session of their own, many in one statement.
 *
 * <p>Why not NOTIFY inside the transaction: PostgreSQL takes one database-wide lock at the commit
 * of every transaction that notifies and holds it until the commit's WAL flush has ended, so such
 * commits run one after the other, each waiting for its own fsync, and never share a flush (group
 * commit). With every claim, completion and new run notifying, that lock bounded a server to one
 * fsync per commit (docs/benchmarks.md, "Wake-ups after the commit"). Here the work's transactions
 * notify nothing and commit durably together; their wake-ups go to a sender thread, which sends
 * what has gathered since its last send in one statement of a session whose commits do not wait for
 * the disk ({@code synchronous_commit = off}): that transaction writes no work, only the
 * notifications, which PostgreSQL never makes durable anyway. Every transaction that writes work
 * still commits with {@code synchronous_commit} on.
 *
 * <p>Listeners see a wake-up only after the work it announces is committed, as before; a wake-up
 * can be lost if the process stops between the commit and the send, which listeners already survive
 * (a worker claims at least once a second, a follower re-reads after a second). Transactions
 * outside {@link Tx} (no sender, e.g. a command's one-connection store) notify inline.
 */
public final class Wakeups {
  private static final Logger log = LoggerFactory.getLogger(Wakeups.class);

  /** One NOTIFY. */
  record Wake(String channel, String payload) {}

  /** The open transactions of this thread, innermost first, with the wake-ups each made. */
  private static final ThreadLocal<Deque<Frame>> FRAMES = ThreadLocal.withInitial(ArrayDeque::new);

  private record Frame(Connection c, Set<Wake> wakes) {}

  /**
   * Wakes the listeners of {@code channel} once the transaction on {@code c} commits (with
   * autocommit: once the current unit of work's statements are done); PostgreSQL's folding of equal
   * notifications in one transaction is kept.
   */
  public static void send(Connection c, String channel, String payload) throws SQLException {
    for (Frame f : FRAMES.get()) {
      if (f.c() == c) {
        f.wakes().add(new Wake(channel, payload));
        return;
      }
    }
    Sql.query(c, "select pg_notify(?, ?)", rs -> null, channel, payload);
  }

  private final Database db;
  private final Set<Wake> pending = new LinkedHashSet<>();
  private Thread sender;
  private Connection session;
  private boolean closed;
  private boolean sending;

  Wakeups(Database db) {
    this.db = db;
  }

  /** Opens a unit of work on {@code c}: its wake-ups are held until {@link #done}. */
  void begin(Connection c) {
    FRAMES.get().push(new Frame(c, new LinkedHashSet<>()));
  }

  /** Ends the innermost unit of work; its wake-ups are sent when it {@code committed}. */
  void done(boolean committed) {
    Deque<Frame> frames = FRAMES.get();
    Frame f = frames.pop();
    if (frames.isEmpty()) {
      FRAMES.remove();
    }
    if (committed && !f.wakes().isEmpty()) {
      post(f.wakes());
    }
  }

  private synchronized void post(Set<Wake> wakes) {
    if (closed) {
      return;
    }
    pending.addAll(wakes);
    if (sender == null) {
      sender = DaemonThreads.start("kiln-wakeups", this::sendLoop);
    }
    notifyAll();
  }

  private void sendLoop() {
    while (true) {
      List<Wake> batch;
      synchronized (this) {
        while (pending.isEmpty() && !closed) {
          try {
            wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (pending.isEmpty()) {
          return;
        }
        batch = new ArrayList<>(pending);
        pending.clear();
        sending = true;
      }
      try {
        sendNow(batch);
      } finally {
        synchronized (this) {
          sending = false;
          notifyAll();
        }
      }
    }
  }

  private void sendNow(List<Wake> batch) {
    String[] channels = batch.stream().map(Wake::channel).toArray(String[]::new);
    String[] payloads = batch.stream().map(Wake::payload).toArray(String[]::new);
    try {
      if (session == null) {
        session = db.dedicatedConnection(Duration.ofSeconds(10));
        Sql.update(session, "set synchronous_commit = off");
      }
      Sql.query(
          session,
          "select pg_notify(w.channel, w.payload) from unnest(?::text[], ?::text[]) as w(channel,"
              + " payload)",
          rs -> null,
          channels,
          payloads);
    } catch (SQLException e) {
      log.debug("wake-ups not sent ({}); listeners find the work on their next poll", e.toString());
      closeSession();
    }
  }

  private void closeSession() {
    if (session != null) {
      try {
        session.close();
      } catch (SQLException ignored) {
        // gone already: a new one is opened for the next send
      }
      session = null;
    }
  }

  /** Sends what is pending (waiting up to {@code within}), then stops the sender. */
  void close(Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    Thread t;
    synchronized (this) {
      while ((!pending.isEmpty() || sending) && sender != null && sender.isAlive()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      closed = true;
      pending.clear();
      notifyAll();
      t = sender;
    }
    if (t != null) {
      try {
        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (t == null || !t.isAlive()) {
      closeSession();
    }
  }
}
