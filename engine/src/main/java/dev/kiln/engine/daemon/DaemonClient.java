package dev.kiln.engine.daemon;

import dev.kiln.engine.store.OwnerOnlyFile;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The Java side of a daemon connection ({@code kiln daemon stop|status}, tests, the benchmark); the
 * launcher speaks the same over bash's {@code /dev/tcp}.
 *
 * @param port where the daemon listens on loopback
 * @param secret the first line every connection sends
 * @param key the build the daemon runs from
 * @param pid the daemon's process
 */
public record DaemonClient(int port, String secret, String key, long pid) {
  private static final int TIMEOUT_MS = 5_000;

  /** The daemon {@code home}'s file names, if that file is there and readable. */
  public static Optional<DaemonClient> of(Path home) {
    Path file = home.resolve(Daemon.FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      String[] f = OwnerOnlyFile.read(file).split(" ");
      return f.length == 4
          ? Optional.of(new DaemonClient(Integer.parseInt(f[0]), f[1], f[2], Long.parseLong(f[3])))
          : Optional.empty();
    } catch (IOException | RuntimeException unreadable) {
      return Optional.empty();
    }
  }

  /** The daemon's one-line status, or empty when it does not answer. */
  public Optional<String> status() {
    try (Socket s = connect()) {
      InputStream in = send(s, List.of("status"));
      return Optional.of(Wire.line(in));
    } catch (IOException notThere) {
      return Optional.empty();
    }
  }

  /** Asks the daemon to end; returns whether it said it would. */
  public boolean stop() {
    try (Socket s = connect()) {
      send(s, List.of("stop"));
      return true;
    } catch (IOException notThere) {
      return false;
    }
  }

  /** The daemon's answer to {@code r}, or empty when it refused it or did not answer. */
  public Optional<Answer> run(Request r) throws IOException {
    try (Socket s = connect()) {
      s.setSoTimeout(0);
      InputStream in = send(s, Daemon.runFields(r));
      String[] head = Wire.line(in).split(" ");
      if (head.length != 3) {
        return Optional.empty();
      }
      Answer a =
          new Answer(
              Integer.parseInt(head[0]),
              in.readNBytes(Integer.parseInt(head[1])),
              in.readNBytes(Integer.parseInt(head[2])));
      if (!Wire.END.equals(Wire.line(in))) {
        throw new IOException(
            "the daemon on port " + port + " stopped in the middle of its answer");
      }
      return Optional.of(a);
    }
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TIMEOUT_MS);
    s.setSoTimeout(TIMEOUT_MS);
    return s;
  }

  /** Sends the secret and {@code fields}; returns the stream after the daemon's hello. */
  private InputStream send(Socket s, List<String> fields) throws IOException {
    OutputStream out = new BufferedOutputStream(s.getOutputStream());
    out.write((secret + "\n").getBytes(StandardCharsets.UTF_8));
    Wire.fields(out, fields);
    out.flush();
    InputStream in = new BufferedInputStream(s.getInputStream());
    if (!Wire.HELLO.equals(Wire.line(in))) {
      throw new IOException("not a kiln daemon on port " + port);
    }
    return in;
  }
}
