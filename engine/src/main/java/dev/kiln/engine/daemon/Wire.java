package dev.kiln.engine.daemon;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What goes over a daemon connection (docs/design/daemon.md). The client sends the secret on a
 * line, then NUL-terminated fields: a verb ({@code run}, {@code status}, {@code stop}); for {@code
 * run} the caller's folder, {@code 1} or {@code 0} for whether it has a terminal, the number of
 * arguments and each, the number of environment entries and each as NAME=VALUE. Fields are data:
 * nothing in them is ever parsed as code. The daemon answers {@code kiln-daemon} on a line once it
 * has read the request, then {@code CODE OUTLEN ERRLEN} on a line and the bytes of stdout and
 * stderr, or {@code refused} when the caller must run the command itself.
 */
public final class Wire {
  /** The line that tells the client a daemon (not some other listener) has its request. */
  public static final String HELLO = "kiln-daemon";

  public static final String REFUSED = "refused";

  /** The line after an answer's bytes: without it, the daemon died while writing them. */
  public static final String END = "end";

  static final int MAX_LINE = 256;
  static final int MAX_REQUEST = 1 << 20;

  private Wire() {}

  /** A line without its newline, of at most {@link #MAX_LINE} bytes. */
  public static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("the connection ended inside a line");
      }
      if (b.size() >= MAX_LINE) {
        throw new IOException("a line longer than " + MAX_LINE + " bytes");
      }
      b.write(c);
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  /** Reads NUL-terminated fields, at most {@link #MAX_REQUEST} bytes in all. */
  static final class Fields {
    private final InputStream in;
    private int total;

    Fields(InputStream in) {
      this.in = in;
    }

    String next() throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (int c = in.read(); c != 0; c = in.read()) {
        if (c < 0) {
          throw new EOFException("the connection ended inside a field");
        }
        if (++total > MAX_REQUEST) {
          throw new IOException("a request larger than " + MAX_REQUEST + " bytes");
        }
        b.write(c);
      }
      return b.toString(StandardCharsets.UTF_8);
    }

    int count() throws IOException {
      String s = next();
      try {
        int n = Integer.parseInt(s);
        if (n < 0 || n > 10_000) {
          throw new IOException("a count out of range: " + n);
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IOException("not a count: '" + s + "'");
      }
    }

    List<String> list() throws IOException {
      int n = count();
      List<String> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(next());
      }
      return out;
    }

    Map<String, String> env() throws IOException {
      Map<String, String> out = new HashMap<>();
      for (String entry : list()) {
        int eq = entry.indexOf('=');
        if (eq <= 0) {
          throw new IOException("not NAME=VALUE: '" + entry + "'");
        }
        out.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
      return out;
    }
  }

  /** Writes the fields of a request (the Java client's side; the launcher's is printf). */
  static void fields(OutputStream out, List<String> fields) throws IOException {
    for (String f : fields) {
      out.write(f.getBytes(StandardCharsets.UTF_8));
      out.write(0);
    }
  }
}
