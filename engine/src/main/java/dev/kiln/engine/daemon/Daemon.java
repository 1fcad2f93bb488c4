package dev.kiln.engine.daemon;

import dev.kiln.engine.store.OwnerOnlyFile;
import dev.kiln.engine.util.DaemonThreads;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A resident process that answers read-only commands for the {@code kiln} launcher over loopback
 * (docs/design/daemon.md): the port and a random secret are in {@code $KILN_HOME/daemon} (mode
 * 0600), a connection whose first line is not the secret is closed unanswered. It ends when idle
 * for {@code idle}, when that file no longer names it, when the build it runs from changes ({@code
 * key}), on a {@code stop} request, or when stopped.
 */
public final class Daemon implements AutoCloseable {
  /** The file beside the store that names the running daemon. */
  public static final String FILE = "daemon";

  /** Answers a request, or returns null when the caller must run the command itself. */
  @FunctionalInterface
  public interface Handler {
    Answer handle(Request request) throws Exception;
  }

  /** How long a client may take to send its request. */
  private static final int READ_TIMEOUT_MS = 10_000;

  private static final Duration CHECK_EVERY = Duration.ofSeconds(1);

  private final Path file;
  private final ServerSocket socket;
  private final String secret;
  private final String key;
  private final Supplier<String> currentKey;
  private final Duration idle;
  private final Handler handler;
  private final PrintStream log;
  private final ExecutorService connections =
      Executors.newCachedThreadPool(DaemonThreads.named("kiln-daemon-connection"));
  private final CountDownLatch ended = new CountDownLatch(1);
  private final Instant started = Instant.now();
  private final AtomicLong lastRequest = new AtomicLong(System.nanoTime());
  private final AtomicLong served = new AtomicLong();
  private volatile String endReason;

  /**
   * A daemon for {@code home}, listening on a loopback port but not yet named nor answering: {@link
   * #start} does that. {@code key} names the build it runs from; {@code currentKey} reads it again.
   */
  public Daemon(
      Path home,
      String key,
      Supplier<String> currentKey,
      Duration idle,
      Handler handler,
      PrintStream log)
      throws IOException {
    this.file = home.resolve(FILE);
    this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    this.secret = HexFormat.of().formatHex(random);
    this.key = key;
    this.currentKey = currentKey;
    this.idle = idle;
    this.handler = handler;
    this.log = log;
  }

  /**
   * Names this daemon in its home's daemon file (replacing an older one's, which then ends) and
   * starts answering; returns this.
   */
  public Daemon start() throws IOException {
    OwnerOnlyFile.create(file, describe() + "\n");
    DaemonThreads.start("kiln-daemon-accept", this::accept);
    DaemonThreads.start("kiln-daemon-watch", this::watch);
    return this;
  }

  /** The daemon file's line: port, secret, build key, pid. */
  private String describe() {
    return socket.getLocalPort() + " " + secret + " " + key + " " + ProcessHandle.current().pid();
  }

  public int port() {
    return socket.getLocalPort();
  }

  /** Blocks until the daemon has ended; returns why. */
  public String awaitEnd() throws InterruptedException {
    ended.await();
    return endReason;
  }

  private void accept() {
    while (!socket.isClosed()) {
      try {
        Socket s = socket.accept();
        connections.execute(() -> serve(s));
      } catch (IOException e) {
        if (!socket.isClosed()) {
          log.println("kiln daemon: accept failed: " + e);
        }
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setSoTimeout(READ_TIMEOUT_MS);
      InputStream in = new BufferedInputStream(s.getInputStream());
      if (!MessageDigest.isEqual(
          Wire.line(in).getBytes(StandardCharsets.UTF_8),
          secret.getBytes(StandardCharsets.UTF_8))) {
        return; // a wrong secret gets nothing
      }
      Wire.Fields fields = new Wire.Fields(in);
      String verb = fields.next();
      OutputStream out = new BufferedOutputStream(s.getOutputStream());
      switch (verb) {
        case "run" -> {
          Request r =
              new Request(
                  Path.of(fields.next()), fields.next().equals("1"), fields.list(), fields.env());
          s.setSoTimeout(0);
          hello(out);
          lastRequest.set(System.nanoTime());
          Answer a = handler.handle(r);
          served.incrementAndGet();
          lastRequest.set(System.nanoTime());
          if (a == null) {
            out.write((Wire.REFUSED + "\n").getBytes(StandardCharsets.UTF_8));
          } else {
            out.write(
                (a.code() + " " + a.out().length + " " + a.err().length + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(a.out());
            out.write(a.err());
            out.write((Wire.END + "\n").getBytes(StandardCharsets.UTF_8));
          }
          out.flush();
        }
        case "status" -> {
          hello(out);
          long idleSeconds = Duration.ofNanos(System.nanoTime() - lastRequest.get()).toSeconds();
          out.write(
              String.format(
                      "pid %d port %d up %ds served %d idle %ds%n",
                      ProcessHandle.current().pid(),
                      port(),
                      Duration.between(started, Instant.now()).toSeconds(),
                      served.get(),
                      idleSeconds)
                  .getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
        case "stop" -> {
          hello(out);
          out.flush();
          end("stopped by kiln daemon stop");
        }
        default -> log.println("kiln daemon: unknown request '" + verb + "'");
      }
    } catch (SocketException | EOFException gone) {
      // the client went away; nothing to answer
    } catch (Exception e) {
      log.println("kiln daemon: a request failed: " + e);
    }
  }

  private static void hello(OutputStream out) throws IOException {
    out.write((Wire.HELLO + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private void watch() {
    while (ended.getCount() > 0) {
      try {
        Thread.sleep(CHECK_EVERY.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      if (!namesThis()) {
        end("its file " + file + " is gone or names another daemon");
      } else if (!key.equals(currentKey.get())) {
        end("the build it runs from changed");
      } else if (System.nanoTime() - lastRequest.get() > idle.toNanos()) {
        end("idle for " + idle);
      }
    }
  }

  private boolean namesThis() {
    try {
      return Files.readString(file).trim().equals(describe());
    } catch (IOException gone) {
      return false;
    }
  }

  private synchronized void end(String why) {
    if (ended.getCount() == 0) {
      return;
    }
    endReason = why;
    try {
      socket.close();
    } catch (IOException e) {
      log.println("kiln daemon: closing its socket: " + e);
    }
    if (namesThis()) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        log.println("kiln daemon: cannot remove " + file + ": " + e);
      }
    }
    connections.shutdown();
    ended.countDown();
  }

  @Override
  public void close() {
    end("closed");
  }

  /** The fields of a {@code run} request, for a Java client (tests, the benchmark). */
  public static List<String> runFields(Request r) {
    List<String> f = new ArrayList<>();
    f.add("run");
    f.add(r.cwd().toString());
    f.add(r.terminal() ? "1" : "0");
    f.add(String.valueOf(r.args().size()));
    f.addAll(r.args());
    f.add(String.valueOf(r.env().size()));
    r.env().forEach((k, v) -> f.add(k + "=" + v));
    return f;
  }
}
