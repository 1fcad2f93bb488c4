package dev.kiln.engine.server;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.server.Routes.Reply;
import dev.kiln.engine.store.RunQueries;
import dev.kiln.engine.trigger.InvalidRequest;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * An artifact as an HTTP answer, for the API and the web UI alike: a file streamed as it is, a
 * folder as a zip written while it is sent (entries in path order, one file's bytes at a time), so
 * neither is ever held whole. The name in {@code Content-Disposition} is the artifact's, made safe.
 */
public final class ArtifactDownload {
  private static final int CHUNK = 64 * 1024;

  private ArtifactDownload() {}

  /** The artifact {@code name} of a run's step; 404 when the run has none of that name. */
  public static Reply of(
      ArtifactStore store, RunQueries queries, long runId, String step, String name)
      throws InvalidRequest {
    RunQueries.Artifact a =
        queries
            .artifact(runId, step, name)
            .orElseThrow(
                () ->
                    new InvalidRequest(
                        404, "run " + runId + " has no artifact '" + name + "' of '" + step + "'"));
    return of(store, a);
  }

  static Reply of(ArtifactStore store, RunQueries.Artifact a) throws InvalidRequest {
    Path content;
    try {
      content = store.local(a.sha256());
    } catch (IOException ex) {
      throw new InvalidRequest(
          410, "the bytes of artifact '" + a.name() + "' cannot be read: " + ex.getMessage());
    }
    String safe = a.name().replaceAll("[^A-Za-z0-9._-]", "_");
    if ("dir".equals(a.kind())) {
      if (!Files.isDirectory(content)) {
        throw new InvalidRequest(410, "the folder of artifact '" + a.name() + "' is gone");
      }
      Routes.Streamed zip = out -> zip(content, out);
      return new Reply(
          200,
          zip,
          "application/zip",
          Map.of(
              "Content-Disposition",
              "attachment; filename=\"" + safe + ".zip\"",
              "X-Content-SHA256",
              a.sha256()));
    }
    InputStream in;
    try {
      in = Files.newInputStream(content);
    } catch (NoSuchFileException ex) {
      throw new InvalidRequest(
          410, "the bytes of artifact '" + a.name() + "' are gone from the store");
    } catch (IOException ex) {
      throw new InvalidRequest(
          410, "the bytes of artifact '" + a.name() + "' cannot be read: " + ex.getMessage());
    }
    return new Reply(
        200,
        in,
        "application/octet-stream",
        Map.of(
            "Content-Disposition",
            "attachment; filename=\"" + safe + "\"",
            "X-Content-SHA256",
            a.sha256()));
  }

  /** Writes the folder as a zip: its regular files and (empty) folders, by relative path. */
  static void zip(Path folder, Routes.Sink sink) throws IOException {
    List<Path> paths;
    try (Stream<Path> all = Files.walk(folder)) {
      paths = all.filter(p -> !p.equals(folder)).sorted().toList();
    }
    try (ZipOutputStream z =
        new ZipOutputStream(new BufferedOutputStream(new SinkStream(sink), CHUNK))) {
      for (Path p : paths) {
        String name = folder.relativize(p).toString().replace('\\', '/');
        if (Files.isDirectory(p)) {
          z.putNextEntry(new ZipEntry(name + "/"));
          z.closeEntry();
        } else if (Files.isRegularFile(p)) {
          ZipEntry entry = new ZipEntry(name);
          entry.setLastModifiedTime(Files.getLastModifiedTime(p));
          z.putNextEntry(entry);
          Files.copy(p, z);
          z.closeEntry();
        }
      }
    }
  }

  /** An output stream whose writes are chunks of a streamed answer. */
  private static final class SinkStream extends OutputStream {
    private final Routes.Sink sink;

    SinkStream(Routes.Sink sink) {
      this.sink = sink;
    }

    @Override
    public void write(int b) throws IOException {
      sink.write(new byte[] {(byte) b});
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > 0) {
        sink.write(Arrays.copyOfRange(b, off, off + len));
      }
    }
  }
}
